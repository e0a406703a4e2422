package store_test

import (
	"os"
	"testing"
	"time"
	_ "time/tzdata" // America/New_York without the system zoneinfo
)

// TestMain runs every test of the package with the process time zone set
// to America/New_York, so that any local-time leak into storage shows up as
// a shifted timestamp. time.Local is set before any test goroutine starts.
func TestMain(m *testing.M) {
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		panic(err)
	}
	time.Local = loc
	os.Exit(m.Run())
}
