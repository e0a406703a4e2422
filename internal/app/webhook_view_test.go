package app_test

import (
	"context"
	"database/sql"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/inkan-auth/inkan/internal/config"
	"github.com/inkan-auth/inkan/internal/dbtest"
	"github.com/inkan-auth/inkan/internal/webhook"
)

// node starts another node on base's database with base's configuration
// and the webhook service's R = r.
func (base *harness) node(t *testing.T, r time.Duration) *harness {
	t.Helper()
	n := &harness{Dialect: base.Dialect, DSN: base.DSN, DBPath: base.DBPath, hookR: r}
	return n.start(t, base.Cfg)
}

// watch runs h's WatchHooks, as Serve does, until the test ends.
func (h *harness) watch(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		h.App.Webhooks().WatchHooks(ctx)
	}()
	t.Cleanup(func() { cancel(); wg.Wait() }) // before the node closes
}

// hookUserID is the data.id claim of a received user.* request (the
// token is not verified here).
func hookUserID(t *testing.T, r hookRequest) string {
	t.Helper()
	tok, err := jwt.ParseInsecure([]byte(r.Token))
	if err != nil {
		t.Fatal(err)
	}
	var data map[string]any
	if err := tok.Get("data", &data); err != nil {
		t.Fatal(err)
	}
	id, _ := data["id"].(string)
	return id
}

// keptEvents counts the events waiting for the webhook fan-out
// (hook_state set) in h's database.
func (h *harness) keptEvents(t *testing.T) int {
	t.Helper()
	driver := map[string]string{"sqlite": "sqlite", "postgres": "pgx", "mysql": "mysql"}[h.Dialect]
	db, err := sql.Open(driver, h.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM events WHERE hook_state IS NOT NULL`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestNoHookNoFanOutWrite (issue 19): with no hook anywhere, once the
// node's view of the stored hooks is known a sign-up's event is stored
// without hook_state and the fan-out finds nothing to do (no UPDATE of
// events); with a hook of the configuration file every such event is kept
// and delivered whatever the view.
func TestNoHookNoFanOutWrite(t *testing.T) {
	for _, dialect := range dbtest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			rc := newHookReceiver(t)
			base := newHarnessOn(t, dialect, func(c *config.Config) { c.RateLimiter.Enabled = false })
			// R is long: one refresh counts for the whole test.
			h := base.node(t, time.Hour)
			if err := h.App.Webhooks().RefreshView(context.Background()); err != nil {
				t.Fatal(err)
			}
			h.createUser(t, "nohook@example.test")
			if n := h.keptEvents(t); n != 0 {
				t.Fatalf("%d events kept for the fan-out without any hook", n)
			}
			if r, err := h.App.Webhooks().RunOnce(context.Background()); err != nil || r != (webhook.Round{}) {
				t.Fatalf("fan-out round without hooks: %+v, %v", r, err)
			}

			cfg := base.Cfg
			cfg.Webhooks.Enabled = true
			cfg.Webhooks.Hooks = []config.WebhookHook{{Callback: rc.URL + "/file", Events: []string{"user.create"}}}
			f := (&harness{Dialect: base.Dialect, DSN: base.DSN, DBPath: base.DBPath, hookR: time.Hour}).start(t, cfg)
			if err := f.App.Webhooks().RefreshView(context.Background()); err != nil {
				t.Fatal(err)
			}
			userID := f.createUser(t, "filehook@example.test")[0]
			if n := f.keptEvents(t); n != 1 {
				t.Fatalf("%d events kept with a hook of the file, want 1", n)
			}
			f.deliver(t)
			if got := rc.requests(); len(got) != 1 || got[0].Event != webhook.UserCreate || hookUserID(t, got[0]) != userID {
				t.Fatalf("the file's hook received %+v", got)
			}
		})
	}
}

// TestHookCreatedOnOneNodeGetsTheNextEventOnAnother (issue 12 with issue
// 19's view): two nodes on one PostgreSQL or MariaDB database, each
// refreshing its view as Serve does. Without hooks node B writes its
// events without hook_state; a hook created through node A's admin API
// receives the event of a sign-up on node B made right after A answered.
func TestHookCreatedOnOneNodeGetsTheNextEventOnAnother(t *testing.T) {
	for _, dialect := range []string{"postgres", "mysql"} {
		t.Run(dialect, func(t *testing.T) {
			rc := newHookReceiver(t)
			base := newHarnessOn(t, dialect, func(c *config.Config) { c.RateLimiter.Enabled = false })
			// The default R: B's view stays fresh (refreshed every R/2), so
			// only A's wait makes B see the new hook in time.
			a, b := base.node(t, webhook.DefaultViewRefresh), base.node(t, webhook.DefaultViewRefresh)
			a.watch(t)
			b.watch(t)
			if err := b.App.Webhooks().RefreshView(context.Background()); err != nil {
				t.Fatal(err)
			}
			b.createUser(t, "before@example.test")
			if n := b.keptEvents(t); n != 0 {
				t.Fatalf("%d events kept for the fan-out before any hook", n)
			}

			r := a.admin(t, "POST", "/webhooks", `{"callback":"`+rc.URL+`/stored","events":["user.create"]}`)
			a.want(t, r, 201, "create webhook on node A")
			users := map[string]bool{}
			for i := range 3 {
				users[b.createUser(t, "after"+strconv.Itoa(i)+"@example.test")[0]] = true
			}
			b.deliver(t)
			a.deliver(t)
			got := rc.requests()
			for _, req := range got {
				if id := hookUserID(t, req); req.Event != webhook.UserCreate || !users[id] {
					t.Fatalf("received %s for user %s", req.Event, id)
				}
				delete(users, hookUserID(t, req))
			}
			if len(got) != 3 || len(users) != 0 {
				t.Fatalf("the hook received %d requests, %d sign-ups on node B after its creation without their event", len(got), len(users))
			}
		})
	}
}
