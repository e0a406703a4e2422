package app

import (
	"context"
	"time"

	"github.com/inkan-auth/inkan/internal/store"
)

// LogQueries attaches a statement log to a's store (before a serves).
func LogQueries(a *App) *store.QueryLog { return store.LogQueries(a.store) }

// WithProviderEndpoints returns a context for New that points built-in
// providers (by id) at endpoints running in the test.
func WithProviderEndpoints(ctx context.Context, m map[string]ProviderEndpoints) context.Context {
	return context.WithValue(ctx, providerEndpointsKey{}, m)
}

// WithMinKeyRefresh returns a context for New whose providers may fetch a
// key set again after d.
func WithMinKeyRefresh(ctx context.Context, d time.Duration) context.Context {
	return context.WithValue(ctx, minKeyRefreshKey{}, d)
}

// WithHookViewRefresh returns a context for New whose webhook service
// uses R = d (webhook.Options.ViewRefresh).
func WithHookViewRefresh(ctx context.Context, d time.Duration) context.Context {
	return context.WithValue(ctx, hookViewRefreshKey{}, d)
}
