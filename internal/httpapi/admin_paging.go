package httpapi

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/inkan"
)

// Paging defaults and bounds of the admin lists (GET /users, GET
// /audit_logs).
const (
	defaultPerPage = 20
	maxPerPage     = 100
)

// page is a parsed page/per_page pair.
type page struct {
	Page, PerPage int // 1-based page; items per page
}

// Offset is the number of items before the page.
func (p page) Offset() int { return (p.Page - 1) * p.PerPage }

// parsePage reads the query parameters page (default 1, ≥ 1) and per_page
// (default 20, 1–100); KindInvalid names the parameter.
func parsePage(q url.Values) (page, error) {
	p := page{Page: 1, PerPage: defaultPerPage}
	var bad problems
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1<<30 {
			bad = append(bad, "page must be a positive integer")
		}
		p.Page = n
	}
	if v := q.Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPerPage {
			bad = append(bad, fmt.Sprintf("per_page must be an integer from 1 to %d", maxPerPage))
		}
		p.PerPage = n
	}
	return p, bad.err()
}

// writePagingHeaders sets X-Total-Count (the number of items on all pages)
// and an RFC 8288 Link header with the first, last and, where they exist,
// prev and next pages: URI references to the request's path with its query,
// page and per_page replaced.
func writePagingHeaders(w http.ResponseWriter, r *http.Request, p page, total int) {
	w.Header().Set("X-Total-Count", strconv.Itoa(total))
	last := (total + p.PerPage - 1) / p.PerPage
	if last < 1 {
		last = 1
	}
	link := func(n int, rel string) string {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(n))
		q.Set("per_page", strconv.Itoa(p.PerPage))
		u := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
		return fmt.Sprintf(`<%s>; rel="%s"`, u.String(), rel)
	}
	links := []string{link(1, "first")}
	if p.Page > 1 {
		links = append(links, link(min(p.Page-1, last), "prev"))
	}
	if p.Page < last {
		links = append(links, link(p.Page+1, "next"))
	}
	links = append(links, link(last, "last"))
	w.Header().Set("Link", strings.Join(links, ", "))
}

// pathUUID parses the path value name as a UUID; KindInvalid "invalid
// <what> id" otherwise.
func pathUUID(r *http.Request, name, what string) (uuid.UUID, error) {
	id, err := parseUUID(r.PathValue(name))
	if err != nil {
		return uuid.Nil, inkan.E(inkan.KindInvalid, "invalid "+what+" id")
	}
	return id, nil
}
