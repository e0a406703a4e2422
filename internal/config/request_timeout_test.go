package config

import (
	"strings"
	"testing"
	"time"
)

func TestRequestTimeout(t *testing.T) {
	if d := Default().Server.RequestTimeout; d != 10*time.Second {
		t.Fatalf("default server.request_timeout = %v, want 10s", d)
	}
	c, err := Load("", []string{"SERVER_REQUEST_TIMEOUT=3s"})
	if err != nil || c.Server.RequestTimeout != 3*time.Second {
		t.Fatalf("SERVER_REQUEST_TIMEOUT=3s: %v %v", c.Server.RequestTimeout, err)
	}
	if _, err := Load("", []string{"SERVER_REQUEST_TIMEOUT=0s"}); err == nil || !strings.Contains(err.Error(), "server.request_timeout") {
		t.Fatalf("a zero request timeout: %v", err)
	}
}
