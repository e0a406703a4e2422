package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// strictGroups gives every command that only groups subcommands (migrate, config, jwk, …) a RunE that
// fails on an unknown subcommand, naming the nearest ones; without a subcommand it prints the help.
// cobra alone prints the help and exits 0 for `inkan jwk rotat`, which a script would take for success.
func strictGroups(c *cobra.Command) {
	for _, sub := range c.Commands() {
		strictGroups(sub)
	}
	if c.Runnable() || !c.HasSubCommands() {
		return
	}
	c.Args = cobra.ArbitraryArgs
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return cmd.Help()
		}
		msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
		if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
			msg += "; did you mean " + strings.Join(s, " or ") + "?"
		}
		return errors.New(msg + " (run '" + cmd.CommandPath() + " --help')")
	}
}

// isTerminal reports whether r is a character device (an interactive terminal).
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// confirmDown guards `migrate down`: with --yes it proceeds; on a terminal it asks and proceeds only on
// "yes"; otherwise (a script, CI, a pipe) it refuses and names --yes.
func confirmDown(stdin io.Reader, stdout io.Writer, steps int, yes bool) error {
	if yes {
		return nil
	}
	if !isTerminal(stdin) {
		return errors.New("migrate down deletes the tables (and their data) of the migrations it reverts; standard input is not a terminal, so confirm with --yes")
	}
	fmt.Fprintf(stdout, "Revert the newest %d migration(s)? The tables they drop are deleted with their data. Type \"yes\" to continue: ", steps)
	line, _ := bufio.NewReader(stdin).ReadString('\n')
	if strings.TrimSpace(line) != "yes" {
		return errors.New("migrate down: not confirmed; nothing was changed")
	}
	return nil
}
