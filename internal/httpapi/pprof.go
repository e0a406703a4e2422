package httpapi

import (
	"net/http"
	"net/http/pprof"
)

// pprofHandler serves net/http/pprof's profiles by name under
// /debug/pprof/{name} (server.admin.pprof): the runtime profiles (heap,
// allocs, goroutine, block, mutex, threadcreate), the CPU profile
// (profile?seconds=N), trace, cmdline and symbol; an unknown name is
// pprof's plain-text 404. It is registered only when enabled and sits
// behind the admin API keys.
func pprofHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.PathValue("name") {
		case "profile":
			pprof.Profile(w, r)
		case "trace":
			pprof.Trace(w, r)
		case "cmdline":
			pprof.Cmdline(w, r)
		case "symbol":
			pprof.Symbol(w, r)
		default:
			pprof.Handler(r.PathValue("name")).ServeHTTP(w, r)
		}
	})
}
