package app

import "github.com/inkan-auth/inkan/internal/store"

// LogQueries attaches a statement log to a's store (before a serves).
func LogQueries(a *App) *store.QueryLog { return store.LogQueries(a.store) }
