//go:build race

package main

// raceEnabled: the tests were built with -race, so a binary built with -race reuses their compiled
// packages from the build cache.
const raceEnabled = true
