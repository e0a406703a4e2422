package webhook_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/clocktest"
	"github.com/inkan-auth/inkan/internal/dbtest"
	"github.com/inkan-auth/inkan/internal/inkan"
	"github.com/inkan-auth/inkan/internal/keys"
	"github.com/inkan-auth/inkan/internal/session"
	"github.com/inkan-auth/inkan/internal/store"
	"github.com/inkan-auth/inkan/internal/webhook"
)

// receiver is a real HTTP receiver on 127.0.0.1: it answers status (200
// unless set), keeps every request it was sent, and can go down (its
// listener closed: connection refused) and come back at the same address.
type receiver struct {
	URL    string
	addr   string
	status atomic.Int32
	mu     sync.Mutex
	got    []received
	srv    *http.Server
}

type received struct {
	Event, ID, Timestamp, Signature string
	Body                            []byte
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	r := &receiver{}
	r.status.Store(200)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.addr = ln.Addr().String()
	r.URL = "http://" + r.addr
	r.serve(ln)
	t.Cleanup(r.down)
	return r
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	var body struct{ Event string }
	_ = json.Unmarshal(b, &body)
	r.mu.Lock()
	r.got = append(r.got, received{Event: body.Event, ID: req.Header.Get("webhook-id"), Timestamp: req.Header.Get("webhook-timestamp"),
		Signature: req.Header.Get("webhook-signature"), Body: b})
	r.mu.Unlock()
	w.WriteHeader(int(r.status.Load()))
}

func (r *receiver) serve(ln net.Listener) {
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = r.srv.Serve(ln) }()
}

// down closes the listener and every connection.
func (r *receiver) down() { _ = r.srv.Close() }

// up listens at the old address again.
func (r *receiver) up(t *testing.T) {
	t.Helper()
	var err error
	for range 100 {
		var ln net.Listener
		if ln, err = net.Listen("tcp", r.addr); err == nil {
			r.serve(ln)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("listen on %s again: %v", r.addr, err)
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

// rig is a webhook service over a real store, real signing keys and a fake
// clock.
type rig struct {
	st    *store.Store
	clock *clocktest.Clock
	svc   *webhook.Service
}

func newRig(t *testing.T, st *store.Store, o webhook.Options) *rig {
	t.Helper()
	ctx := context.Background()
	clock := clocktest.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	km, err := keys.New(ctx, st, keys.Options{Secrets: []string{"a test secret of enough length"}, Algorithm: "ES256"}, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	sessions := session.New(st, km, session.Options{Audience: []string{"app.example.test"}}, clock.Now)
	user := func(ctx context.Context, id uuid.UUID) (json.RawMessage, error) {
		u, err := st.GetUser(ctx, id)
		if err != nil {
			return nil, err
		}
		return json.Marshal(map[string]any{"id": u.ID, "created_at": u.CreatedAt})
	}
	o.SecretKeys = [][]byte{[]byte("0123456789abcdef0123456789abcdef")}
	svc, err := webhook.New(st, sessions, user, o, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	st.SetHookedTypes(webhook.Hooked)
	return &rig{st: st, clock: clock, svc: svc}
}

// record writes a committed user_created event and returns it.
func (r *rig) record(t *testing.T) inkan.Event {
	t.Helper()
	e := inkan.NewEvent(context.Background(), inkan.EventUserCreated, inkan.Actor{UserID: uuid.New(), Email: "a@example.test"}, r.clock.Now())
	if err := r.st.RecordEvent(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	return e
}

func (r *rig) round(t *testing.T) webhook.Round {
	t.Helper()
	n, err := r.svc.RunOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (r *rig) deliveries(t *testing.T, e inkan.Event) []inkan.WebhookDelivery {
	t.Helper()
	ds, err := r.st.WebhookDeliveries(context.Background(), e.ID)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// TestReceiverDownThenUp: a receiver that answers 503, then refuses
// connections, then comes back gets every event, each retry due on the
// schedule (the first within 10 s) and not before; webhook-id stays the
// same across attempts and every signature verifies.
func TestReceiverDownThenUp(t *testing.T) {
	rc := newReceiver(t)
	rc.status.Store(503)
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	r := newRig(t, dbtest.Open(t, "sqlite"), webhook.Options{ConfigEnabled: true, Hooks: []webhook.Hook{{Callback: rc.URL, Events: []string{"user"}, Secret: secret}}})
	evs := []inkan.Event{r.record(t), r.record(t), r.record(t)}

	if n := r.round(t); n.FannedOut != 3 || n.Deliveries != 3 || n.Attempts != 3 {
		t.Fatalf("first round: %+v", n)
	}
	start := r.clock.Now()
	for _, e := range evs {
		d := r.deliveries(t, e)[0]
		if d.State != inkan.DeliveryPending || d.Attempts != 1 || d.NextAttemptAt.Sub(start) > 10*time.Second {
			t.Fatalf("after a 503: %+v", d)
		}
	}
	if n := r.round(t); n.Attempts != 0 {
		t.Fatalf("retried before the schedule: %+v", n)
	}
	// Retry 1: the receiver is gone altogether (connection refused).
	rc.down()
	r.clock.Advance(webhook.MaxRetryDelay(1))
	if n := r.round(t); n.Attempts != 3 {
		t.Fatalf("retry 1: %+v", n)
	}
	// Retry 2: back up at the same address. Nothing is attempted before
	// its due time; everything is once the last is due.
	rc.status.Store(200)
	rc.up(t)
	first, last := time.Time{}, time.Time{}
	for _, e := range evs {
		d := r.deliveries(t, e)[0]
		if d.Attempts != 2 || d.NextAttemptAt.Sub(r.clock.Now()) > webhook.MaxRetryDelay(2) {
			t.Fatalf("after retry 1: %+v", d)
		}
		if first.IsZero() || d.NextAttemptAt.Before(first) {
			first = d.NextAttemptAt
		}
		if d.NextAttemptAt.After(last) {
			last = d.NextAttemptAt
		}
	}
	r.clock.Set(first.Add(-time.Millisecond))
	if n := r.round(t); n.Attempts != 0 {
		t.Fatalf("attempted before due: %+v", n)
	}
	r.clock.Set(last)
	if n := r.round(t); n.Attempts != 3 {
		t.Fatalf("retry 2: %+v", n)
	}
	for _, e := range evs {
		d := r.deliveries(t, e)[0]
		if d.State != inkan.DeliveryDelivered || d.Attempts != 3 || d.Data != nil {
			t.Fatalf("after the receiver came back: %+v", d)
		}
	}
	got := rc.requests()
	if len(got) != 6 { // 3 answered 503, 3 delivered; the refused ones never arrived
		t.Fatalf("receiver saw %d requests", len(got))
	}
	ids := map[string]int{}
	for _, g := range got {
		ids[g.ID]++
		ts, _ := strconv.ParseInt(g.Timestamp, 10, 64)
		if !webhook.Verify(secret, g.ID, ts, g.Body, g.Signature) {
			t.Errorf("signature of %s does not verify", g.ID)
		}
		if g.Event != webhook.UserCreate {
			t.Errorf("event %q", g.Event)
		}
	}
	for id, n := range ids {
		if n != 2 {
			t.Errorf("webhook-id %s seen %d times, want 2 (one 503, one success)", id, n)
		}
	}
}

// TestFailingReceiverDisablesOnlyStoredHooks: a receiver that always
// answers 500 makes every delivery fail for good after MaxAttempts; the
// stored hook is disabled after webhooks.max_failures such events (its
// failures visible), the configuration hook never is and still receives
// the next event. A 4xx answer fails at once.
func TestFailingReceiverDisablesOnlyStoredHooks(t *testing.T) {
	rc := newReceiver(t)
	rc.status.Store(500)
	r := newRig(t, dbtest.Open(t, "sqlite"), webhook.Options{MaxFailures: 2, ConfigEnabled: true, ViewRefresh: time.Millisecond,
		Hooks: []webhook.Hook{{Callback: rc.URL + "/config", Events: []string{"user.create"}}}})
	ctx := context.Background()
	h, secret, err := r.svc.CreateHook(ctx, rc.URL+"/stored", []string{"user"})
	if err != nil || len(secret) < 40 {
		t.Fatalf("CreateHook: %v %q", err, secret)
	}
	for i := 1; i <= 2; i++ {
		e := r.record(t)
		for attempt := 1; attempt <= webhook.MaxAttempts; attempt++ {
			if n := r.round(t); n.Attempts != 2 {
				t.Fatalf("event %d attempt %d: %+v", i, attempt, n)
			}
			r.clock.Advance(webhook.MaxRetryDelay(attempt))
		}
		for _, d := range r.deliveries(t, e) {
			if d.State != inkan.DeliveryFailed || d.Attempts != webhook.MaxAttempts {
				t.Fatalf("event %d: %+v", i, d)
			}
		}
		got, err := r.svc.Hook(ctx, h.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Failures != i || got.Enabled != (i < 2) {
			t.Fatalf("after %d failed events: failures %d enabled %v", i, got.Failures, got.Enabled)
		}
	}
	e := r.record(t)
	rc.status.Store(404)
	if n := r.round(t); n.Deliveries != 1 || n.Attempts != 1 {
		t.Fatalf("third event: %+v (the disabled hook must get nothing)", n)
	}
	if d := r.deliveries(t, e); len(d) != 1 || d[0].WebhookID != uuid.Nil || d[0].State != inkan.DeliveryFailed || d[0].Attempts != 1 {
		t.Fatalf("a 404 is final: %+v", d)
	}
	attempts, err := r.svc.Attempts(ctx, h.ID, 5)
	if err != nil || len(attempts) != 5 || attempts[0].Status != 500 || attempts[0].Error == "" {
		t.Fatalf("recent attempts: %+v %v", attempts, err)
	}
}

// TestRolledBackChangeIsNeverDelivered: an event whose transaction rolled
// back (the change failed after the event was written) reaches no hook;
// the next committed one does.
func TestRolledBackChangeIsNeverDelivered(t *testing.T) {
	for _, dialect := range dbtest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			st := dbtest.Open(t, dialect)
			rc := newReceiver(t)
			r := newRig(t, st, webhook.Options{ConfigEnabled: true, Hooks: []webhook.Hook{{Callback: rc.URL, Events: []string{"user"}}}})
			ctx := context.Background()
			lost := inkan.NewEvent(ctx, inkan.EventUserDeleted, inkan.Actor{UserID: uuid.New()}, r.clock.Now())
			err := st.Atomically(ctx, func(ctx context.Context) error {
				if err := st.RecordEvent(ctx, lost); err != nil {
					return err
				}
				// a constraint violation after the event: the same id twice
				return st.RecordEvent(ctx, lost)
			})
			if err == nil {
				t.Fatal("the duplicate insert did not fail")
			}
			kept := r.record(t)
			r.round(t)
			got := rc.requests()
			if len(got) != 1 || got[0].Event != webhook.UserCreate {
				t.Fatalf("received %+v", got)
			}
			if d := r.deliveries(t, lost); len(d) != 0 {
				t.Fatalf("deliveries of the rolled-back event: %+v", d)
			}
			if d := r.deliveries(t, kept); len(d) != 1 || d[0].State != inkan.DeliveryDelivered {
				t.Fatalf("deliveries of the committed event: %+v", d)
			}
		})
	}
}

// BenchmarkFanOutAndDeliver measures one event's way from the events
// table to a receiver on the loopback: fan-out, claim, signed request,
// outcome (ns/op per event; 4 workers).
func BenchmarkFanOutAndDeliver(b *testing.B) {
	for _, dialect := range dbtest.Dialects() {
		b.Run(dialect, func(b *testing.B) {
			st := dbtest.Open(b, dialect)
			rc := newReceiver(&testing.T{})
			defer rc.down()
			r := newRig(&testing.T{}, st, webhook.Options{ConfigEnabled: true, Hooks: []webhook.Hook{{Callback: rc.URL, Events: []string{"user"}}}})
			ctx := context.Background()
			for i := 0; i < b.N; i++ {
				e := inkan.NewEvent(ctx, inkan.EventUserCreated, inkan.Actor{UserID: uuid.New()}, r.clock.Now())
				if err := st.RecordEvent(ctx, e); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			n, err := r.svc.RunOnce(ctx)
			if err != nil || n.Attempts != b.N {
				b.Fatalf("%+v %v", n, err)
			}
		})
	}
}

// TestNodeKilledMidDelivery: a node that claimed deliveries and died
// leaves them to another node once its lease ends (not before); the dead
// node's late outcome is not recorded, so no attempt counts twice.
func TestNodeKilledMidDelivery(t *testing.T) {
	rc := newReceiver(t)
	st := dbtest.Open(t, "sqlite")
	r := newRig(t, st, webhook.Options{ConfigEnabled: true, Hooks: []webhook.Hook{{Callback: rc.URL, Events: []string{"user"}}}})
	e := r.record(t)
	ctx := context.Background()
	// Fan out without attempting: the claim below is the dead node's.
	rc.down()
	if n := r.round(t); n.Deliveries != 1 {
		t.Fatalf("fan-out %+v", n)
	}
	r.clock.Advance(webhook.MaxRetryDelay(1))
	now := r.clock.Now()
	claimed, err := st.ClaimWebhookDeliveries(ctx, now, now.Add(30*time.Second), 10)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %v %v", claimed, err)
	}
	rc.up(t)
	if n := r.round(t); n.Attempts != 0 {
		t.Fatalf("took a leased delivery: %+v", n)
	}
	r.clock.Advance(30 * time.Second)
	if n := r.round(t); n.Attempts != 1 {
		t.Fatalf("after the lease: %+v", n)
	}
	if d := r.deliveries(t, e)[0]; d.State != inkan.DeliveryDelivered || d.Attempts != 3 {
		t.Fatalf("delivery %+v", d)
	}
	done, err := st.FinishWebhookDeliveries(ctx, claimed, []inkan.WebhookOutcome{{State: inkan.DeliveryFailed, Attempt: inkan.WebhookAttempt{CreatedAt: now}}})
	if err != nil || done[0] {
		t.Fatalf("the dead node's outcome was recorded: %v %v", done, err)
	}
	if got := len(rc.requests()); got != 1 {
		t.Fatalf("receiver got %d requests", got)
	}
}

// TestSlowAndRedirectingReceivers: no answer within the timeout is retried;
// a redirect is not followed and fails the delivery at once.
func TestSlowAndRedirectingReceivers(t *testing.T) {
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		select { // answers only after the client gave up
		case <-req.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(release) }) // runs first
	target := newReceiver(t)
	redirect := httptest.NewServer(http.RedirectHandler(target.URL, http.StatusTemporaryRedirect))
	t.Cleanup(redirect.Close)
	r := newRig(t, dbtest.Open(t, "sqlite"), webhook.Options{Timeout: 100 * time.Millisecond, ConfigEnabled: true, Hooks: []webhook.Hook{
		{Callback: slow.URL, Events: []string{"user"}}, {Callback: redirect.URL, Events: []string{"user"}},
	}})
	e := r.record(t)
	r.round(t)
	for _, d := range r.deliveries(t, e) {
		switch d.Callback {
		case slow.URL:
			if d.State != inkan.DeliveryPending || d.Attempts != 1 {
				t.Errorf("slow receiver: %+v", d)
			}
		case redirect.URL:
			if d.State != inkan.DeliveryFailed || d.Attempts != 1 {
				t.Errorf("redirect: %+v", d)
			}
		}
	}
	if len(target.requests()) != 0 {
		t.Fatal("the redirect was followed")
	}
	attempts, err := r.svc.ConfigAttempts(context.Background(), slow.URL, 5)
	if err != nil || len(attempts) != 1 || attempts[0].Status != 0 || attempts[0].Error == "" {
		t.Fatalf("slow attempts %+v %v", attempts, err)
	}
}
