package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/inkan-auth/inkan/internal/app"
	"github.com/inkan-auth/inkan/internal/config"
)

// newJWKCommand returns `inkan jwk list|rotate|revoke`.
func newJWKCommand(load func() (config.Config, *slog.Logger, error), stdout io.Writer) *cobra.Command {
	// withKeys loads the configuration, opens the key manager, runs fn and
	// closes the store.
	withKeys := func(ctx context.Context, fn func(km *app.KeyManager) error) error {
		cfg, log, err := load()
		if err != nil {
			return err
		}
		km, closeFn, err := app.OpenKeys(ctx, cfg, log)
		if err != nil {
			return err
		}
		defer closeFn()
		return fn(km)
	}
	cmd := &cobra.Command{Use: "jwk", Short: "Manage the JWT signing keys"}
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List signing keys: kid, algorithm, creation time, whether it signs and is published",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return withKeys(c.Context(), func(km *app.KeyManager) error {
				infos, err := km.List(c.Context())
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "KID\tALG\tCREATED\tSIGNING\tPUBLISHED\tREVOKED")
				for _, k := range infos {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%v\t%v\n", k.KID, k.Algorithm, k.CreatedAt.UTC().Format(time.RFC3339), k.Signing, k.Published, k.Revoked)
				}
				return tw.Flush()
			})
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "rotate",
		Short: "Create a new signing key; older keys keep verifying until their tokens expire",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return withKeys(c.Context(), func(km *app.KeyManager) error {
				k, err := km.Rotate(c.Context())
				if err != nil {
					return err
				}
				fmt.Fprintf(stdout, "new signing key %s (%s)\n", k.KID, k.Algorithm)
				return nil
			})
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "revoke KID",
		Short: "Revoke a signing key at once (a leaked key): out of the JWKS, its tokens refused; a new key signs",
		Long: "Revoke marks the key KID revoked. It leaves the JWKS and tokens it signed are refused: by every\n" +
			"node within 10 seconds (their key cache refresh). When KID is the signing key, a new key is\n" +
			"generated first. Every session signed by the key ends; its users sign in again.",
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return withKeys(c.Context(), func(km *app.KeyManager) error {
				if err := km.Revoke(c.Context(), args[0]); err != nil {
					return err
				}
				fmt.Fprintf(stdout, "revoked signing key %s\n", args[0])
				return nil
			})
		},
	})
	return cmd
}
