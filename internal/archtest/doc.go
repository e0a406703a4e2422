// Package archtest holds the dependency test that keeps the layout of
// ../shared/docs/architecture.md true: each package imports only what its
// row allows. It has no non-test code.
package archtest
