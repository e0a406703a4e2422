package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/inkan-auth/inkan/internal/app"
	"github.com/inkan-auth/inkan/internal/config"
)

// newUserCommand returns `inkan user export|import` (Hanko's user import
// format, docs/user-import.md).
func newUserCommand(load func() (config.Config, *slog.Logger, error), stdout io.Writer) *cobra.Command {
	withUsers := func(ctx context.Context, fn func(u *app.UserTransfer) error) error {
		cfg, log, err := load()
		if err != nil {
			return err
		}
		u, closeFn, err := app.OpenUserTransfer(ctx, cfg, log)
		if err != nil {
			return err
		}
		defer closeFn()
		return fn(u)
	}
	cmd := &cobra.Command{Use: "user", Short: "Export and import users in Hanko's user import format"}
	var output string
	export := &cobra.Command{
		Use:   "export",
		Short: "Write every user (e-mail addresses, passkeys, password hash) as JSON",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return withUsers(c.Context(), func(u *app.UserTransfer) error {
				w := stdout
				if output != "" && output != "-" {
					// 0600: the file holds password hashes.
					f, err := os.OpenFile(output, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
					if err != nil {
						return err
					}
					defer f.Close()
					w = f
				}
				n, err := u.Export(c.Context(), w)
				if err != nil {
					return err
				}
				if output != "" && output != "-" {
					fmt.Fprintf(c.ErrOrStderr(), "exported %d users to %s\n", n, output)
				}
				return nil
			})
		},
	}
	export.Flags().StringVarP(&output, "output", "o", "", "write to FILE (mode 0600) instead of standard output")
	cmd.AddCommand(export)
	cmd.AddCommand(&cobra.Command{
		Use:   "import FILE",
		Short: "Import users; the whole file is checked first, each user is imported whole or not at all, existing user ids are skipped",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			return withUsers(c.Context(), func(u *app.UserTransfer) error {
				outcomes, err := u.Import(c.Context(), f)
				if err != nil {
					return err
				}
				imported, skipped, failed := 0, 0, 0
				for _, o := range outcomes {
					switch {
					case o.Err != nil:
						failed++
						fmt.Fprintf(stdout, "entry %d (user %s): not imported: %v\n", o.Index, o.UserID, o.Err)
					case o.Imported:
						imported++
					default:
						skipped++
					}
				}
				fmt.Fprintf(stdout, "%d imported, %d skipped (user id exists), %d failed\n", imported, skipped, failed)
				if failed > 0 {
					return fmt.Errorf("%d of %d users were not imported", failed, len(outcomes))
				}
				return nil
			})
		},
	})
	return cmd
}
