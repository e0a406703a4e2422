package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// client is one closed-loop worker's HTTP side: it sends a request, waits
// for the whole answer, records the step's latency and only then sends the
// next. The session token travels as a Bearer header (the server needs
// session.enable_auth_token_header) or, failing that, as the cookie.
type client struct {
	base   string
	http   *http.Client
	rec    *recorder
	token  string
	cookie *http.Cookie
}

// call sends method path with body (JSON) and decodes a JSON answer into
// out (when non-nil). want is the expected status; any other is an error
// of the step. Latency is recorded under step whatever the outcome.
func (c *client) call(ctx context.Context, step, method, path string, body any, want int, out any) (*http.Response, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	} else if c.cookie != nil {
		req.AddCookie(c.cookie)
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	var raw []byte
	if err == nil {
		raw, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	lat := time.Since(start)
	if ctx.Err() != nil {
		return nil, ctx.Err() // cut off by the end of the run: not counted
	}
	if err == nil && resp.StatusCode != want {
		err = fmt.Errorf("%s %s: status %d, want %d: %.200s", method, path, resp.StatusCode, want, raw)
	}
	if err == nil && out != nil {
		if jerr := json.Unmarshal(raw, out); jerr != nil {
			err = fmt.Errorf("%s %s: %w", method, path, jerr)
		}
	}
	c.rec.add(step, lat, err)
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// keepSession remembers the session a sign-in answered with.
func (c *client) keepSession(resp *http.Response, cookieName string) bool {
	if t := resp.Header.Get("X-Auth-Token"); t != "" {
		c.token = t
		return true
	}
	for _, ck := range resp.Cookies() {
		if ck.Name == cookieName && ck.Value != "" {
			c.cookie = ck
			return true
		}
	}
	return false
}
