// Command inkan is a passwordless authentication server that speaks the
// Hanko backend's REST API: e-mail passcodes, passkeys (WebAuthn) and
// sessions as JWTs, for web and native mobile apps.
//
// Run `inkan --help` for the commands.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Environ(), os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "inkan:", err)
		os.Exit(1)
	}
}

// run executes the command line args with the given environment (os.Environ
// form) and streams. It returns when the command is done, or, for serve,
// when ctx is cancelled and the servers have shut down.
func run(ctx context.Context, args []string, environ []string, stdin io.Reader, stdout, stderr io.Writer) error {
	root := newRootCommand(environ, stdin, stdout, stderr)
	strictGroups(root)
	root.SetArgs(args)
	return root.ExecuteContext(ctx)
}
