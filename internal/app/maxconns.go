package app

// maxConnections is server.max_connections, or when it is 0 a cap derived
// from the open-file limit: every connection is a file descriptor, and a
// request may open one more (an SMTP delivery), so half of the limit,
// minus 128 kept for the database pool, Redis, log files and listeners,
// and never below 64. Without a known limit it is 1024.
func maxConnections(configured int) int {
	if configured > 0 {
		return configured
	}
	limit, ok := openFileLimit()
	if !ok {
		return 1024
	}
	return max(64, int(min(limit, 1<<20)/2)-128)
}
