package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// Set by a release build:
//
//	go build -ldflags "-X main.version=v1.2.3 -X main.commit=$(git rev-parse HEAD) -X main.buildDate=$(date -u +%FT%TZ)" ./cmd/inkan
//
// Without them the values come from the VCS data the go command embeds when it builds inside a git
// checkout (debug.ReadBuildInfo: the module's pseudo-version, vcs.revision, vcs.time, vcs.modified).
var (
	version   = ""
	commit    = ""
	buildDate = ""
)

// buildInfo is what `inkan version` prints.
type buildInfo struct {
	Version    string // release tag or the module's (pseudo-)version; "dev" when unknown
	Commit     string // full git commit hash, "" when unknown
	Modified   bool   // the checkout had uncommitted changes
	CommitTime string // RFC 3339 time of the commit (from VCS data)
	BuildDate  string // RFC 3339 build time (release builds only)
	GoVersion  string
}

func readBuildInfo() buildInfo {
	b := buildInfo{Version: version, Commit: commit, BuildDate: buildDate, GoVersion: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if b.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			b.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if b.Commit == "" {
					b.Commit = s.Value
				}
			case "vcs.time":
				b.CommitTime = s.Value
			case "vcs.modified":
				b.Modified = s.Value == "true"
			}
		}
	}
	if b.Version == "" {
		b.Version = "dev"
	}
	return b
}

// versionString is the one-line version for logs: "v1.2.3 (commit 54911da)".
func versionString() string {
	b := readBuildInfo()
	if b.Commit == "" {
		return b.Version
	}
	c := b.Commit
	if len(c) > 12 {
		c = c[:12]
	}
	if b.Modified {
		c += "+modified"
	}
	return b.Version + " (commit " + c + ")"
}

func printVersion(w io.Writer) {
	b := readBuildInfo()
	fmt.Fprintln(w, "inkan", b.Version)
	unknown := func(s, hint string) string {
		if s == "" {
			return "unknown (" + hint + ")"
		}
		return s
	}
	c := unknown(b.Commit, "not built from a git checkout")
	if b.Modified {
		c += " (with uncommitted changes)"
	}
	fmt.Fprintln(w, "commit:     ", c)
	fmt.Fprintln(w, "commit time:", unknown(b.CommitTime, "not built from a git checkout"))
	fmt.Fprintln(w, "build date: ", unknown(b.BuildDate, "set by release builds with -ldflags -X main.buildDate=…"))
	fmt.Fprintln(w, "go:         ", b.GoVersion)
}
