// Package archtest holds the dependency test that keeps inkan's layout
// (README.md, "Development") true: every package of the module has a row
// saying what it may import and why, each package imports only what its row
// allows, and the test helpers (dbtest, smtptest, webauthntest, outboxtest,
// clocktest) stay out of code that ships. A package without a row fails the
// test. It has no non-test code.
package archtest
