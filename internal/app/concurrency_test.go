package app_test

import (
	"database/sql"
	"fmt"
	"sync"
	"testing"

	"github.com/inkan-auth/inkan/internal/config"
)

// initPasscode signs up address and asks for a passcode; it returns the
// passcode id and the code from the outbox.
func (h *harness) initPasscode(t *testing.T, address string) (id, code string) {
	t.Helper()
	id = h.initPasscodeID(t, h.createUser(t, address))
	return id, h.code(t, address)
}

func (h *harness) countRows(t *testing.T, table string) int {
	t.Helper()
	db, err := sql.Open("sqlite", h.DBPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// finalizeConcurrently sends n finalize calls for passcode id at once and
// returns how many got each status.
func (h *harness) finalizeConcurrently(t *testing.T, n int, id string, code func(i int) string) map[int]int {
	t.Helper()
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r := h.do(t, "POST", "/passcode/login/finalize", `{"id":"`+id+`","code":"`+code(i)+`"}`)
			mu.Lock()
			statuses[r.Status]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	return statuses
}

// TestConcurrentFinalize: 20 parallel finalize calls with the right code
// yield exactly one session; 20 with wrong codes count exactly three
// attempts (two 401, then 410) and leave the passcode dead, so the right
// code no longer works.
func TestConcurrentFinalize(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.Session.EnableAuthTokenHeader = true })

	id, code := h.initPasscode(t, "race@example.test")
	before := h.countRows(t, "sessions")
	got := h.finalizeConcurrently(t, 20, id, func(int) string { return code })
	if got[200] != 1 || got[200]+got[404] != 20 {
		t.Fatalf("right code ×20: statuses %v, want exactly one 200 and the rest 404", got)
	}
	if n := h.countRows(t, "sessions") - before; n != 1 {
		t.Fatalf("%d sessions created, want 1", n)
	}

	id, code = h.initPasscode(t, "guess@example.test")
	wrong := fmt.Sprintf("%06d", (atoi(code)+1)%1000000)
	got = h.finalizeConcurrently(t, 20, id, func(int) string { return wrong })
	if got[401] != 2 || got[410] != 18 {
		t.Fatalf("wrong code ×20: statuses %v, want 2×401 and 18×410", got)
	}
	r := h.do(t, "POST", "/passcode/login/finalize", `{"id":"`+id+`","code":"`+code+`"}`)
	if r.Status != 410 {
		t.Fatalf("right code after three wrong ones: %d %s, want 410", r.Status, r.Body)
	}
	var tries int
	db, _ := sql.Open("sqlite", h.DBPath)
	defer db.Close()
	if err := db.QueryRow(`SELECT try_count FROM passcodes WHERE id = ?`, id).Scan(&tries); err != nil || tries != 3 {
		t.Fatalf("try_count = %d (%v), want 3", tries, err)
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}
