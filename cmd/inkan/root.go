package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/inkan-auth/inkan/internal/app"
	"github.com/inkan-auth/inkan/internal/config"
)

func newRootCommand(environ []string, stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	var configPath string
	root := &cobra.Command{
		Use:   "inkan",
		Short: "Passwordless authentication server with the Hanko REST API",
		Long: `inkan is a passwordless authentication server: e-mail passcodes, passkeys
(WebAuthn) and JWT sessions for web and native mobile apps. It implements the
Hanko backend's REST API.

With no configuration, "inkan serve" runs on 127.0.0.1:8000 (public API) and
127.0.0.1:8001 (admin API) with an embedded SQLite database in ./data and
prints passcode mails to standard output.

Configuration: a YAML file (--config) with Hanko's key names; every key can
be overridden by an environment variable (Hanko's names, e.g.
SESSION_ENABLE_AUTH_TOKEN_HEADER=true, DATABASE_URL=postgres://…).`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVar(&configPath, "config", "", "YAML configuration file (default: none; built-in defaults and environment)")

	// load is how every command reads the configuration: app.LoadConfig, the same judgement for
	// serve, config check and the maintenance commands.
	load := func() (config.Config, *slog.Logger, error) {
		cfg, err := app.LoadConfig(configPath, environ)
		if err != nil {
			var ve *config.ValidationError
			if errors.As(err, &ve) {
				return cfg, nil, fmt.Errorf("invalid configuration:\n%w", err)
			}
			return cfg, nil, err
		}
		return cfg, app.NewLogger(cfg, stderr), nil
	}

	serve := &cobra.Command{
		Use:   "serve",
		Short: "Run the public and admin APIs until interrupted",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, log, err := load()
			if err != nil {
				return err
			}
			log.Info("starting inkan", "version", versionString())
			a, err := app.New(cmd.Context(), cfg, log, stdout)
			if err != nil {
				return err
			}
			defer a.Close()
			return a.Serve(cmd.Context())
		},
	}

	migrate := &cobra.Command{Use: "migrate", Short: "Manage the database schema"}
	withStore := func(cmd *cobra.Command, fn func(ctx context.Context, st *app.Store) error) error {
		cfg, log, err := load()
		if err != nil {
			return err
		}
		st, err := app.OpenStore(cmd.Context(), cfg, log)
		if err != nil {
			return err
		}
		defer st.Close()
		return fn(cmd.Context(), st)
	}
	migrate.AddCommand(&cobra.Command{
		Use:   "up",
		Short: "Apply every pending migration (under a database lock)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withStore(cmd, func(ctx context.Context, st *app.Store) error {
				applied, err := st.MigrateUp(ctx)
				if err != nil {
					return err
				}
				if len(applied) == 0 {
					fmt.Fprintln(stdout, "schema is up to date")
				}
				for _, m := range applied {
					fmt.Fprintln(stdout, "applied", m)
				}
				return nil
			})
		},
	})
	var steps int
	var yes bool
	down := &cobra.Command{
		Use:   "down",
		Short: "Revert the newest applied migrations (default 1); destroys the data of the tables they drop",
		Long: `Revert the newest applied migrations (--steps, default 1). The tables they drop
are deleted with their data. On a terminal the command asks for confirmation;
otherwise (scripts, CI) it refuses unless --yes is given.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withStore(cmd, func(ctx context.Context, st *app.Store) error {
				if err := confirmDown(stdin, stdout, steps, yes); err != nil {
					return err
				}
				reverted, err := st.MigrateDown(ctx, steps)
				if err != nil {
					return err
				}
				for _, m := range reverted {
					fmt.Fprintln(stdout, "reverted", m)
				}
				return nil
			})
		},
	}
	down.Flags().IntVar(&steps, "steps", 1, "number of migrations to revert")
	down.Flags().BoolVar(&yes, "yes", false, "do not ask for confirmation (required when standard input is not a terminal)")
	migrate.AddCommand(down)
	migrate.AddCommand(&cobra.Command{
		Use:   "status",
		Short: "List migrations and whether each is applied",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withStore(cmd, func(ctx context.Context, st *app.Store) error {
				ms, err := st.MigrationStatus(ctx)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "MIGRATION\tSTATUS\tAPPLIED AT")
				for _, m := range ms {
					status, at := "pending", ""
					if m.Applied {
						status, at = "applied", m.AppliedAt.UTC().Format(time.RFC3339)
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\n", m.Name, status, at)
				}
				return tw.Flush()
			})
		},
	})

	cfgCmd := &cobra.Command{Use: "config", Short: "Inspect the configuration"}
	cfgCmd.AddCommand(&cobra.Command{
		Use:   "check [FILE]",
		Short: "Load and validate FILE (or --config) with the environment, as serve does; report every problem at once",
		Long: `Load and validate FILE (or --config) with the environment exactly as "inkan
serve" does: unknown keys (with the nearest known key), Hanko keys that turn on
a feature inkan lacks, bad values and unusable database addresses are errors;
Hanko keys that inkan accepts and ignores are listed as warnings. It writes
nothing and opens no connections.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			file := configPath
			if len(args) == 1 {
				file = args[0]
			}
			if file == "" {
				return fmt.Errorf("name the file to check: inkan config check FILE")
			}
			cfg, err := app.LoadConfig(file, environ)
			if err != nil {
				return fmt.Errorf("%s:\n%w", file, err)
			}
			for _, k := range cfg.IgnoredKeys {
				fmt.Fprintf(stdout, "warning: %s: accepted for Hanko compatibility and ignored by inkan\n", k)
			}
			fmt.Fprintln(stdout, file+": OK")
			return nil
		},
	})
	cfgCmd.AddCommand(&cobra.Command{
		Use:   "show",
		Short: "Print the effective configuration (file + environment + defaults) as YAML, secrets redacted",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, _, err := load()
			if err != nil {
				return err
			}
			out, err := cfg.Show()
			if err != nil {
				return err
			}
			_, err = io.WriteString(stdout, out)
			return err
		},
	})
	cfgCmd.AddCommand(&cobra.Command{
		Use:   "env",
		Short: "List the environment variables inkan reads and the key each sets, and the Hanko variables it ignores",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "VARIABLE\tKEY\tNOTE")
			write := func(vars map[string]string, note string) {
				names := make([]string, 0, len(vars))
				for n := range vars {
					names = append(names, n)
				}
				sort.Strings(names)
				for _, n := range names {
					fmt.Fprintf(tw, "%s\t%s\t%s\n", n, vars[n], note)
				}
			}
			write(config.EnvVars(), "")
			write(config.IgnoredEnvVars(), "ignored (Hanko key inkan does not use; not read)")
			return tw.Flush()
		},
	})

	root.AddCommand(serve, migrate, cfgCmd, newJWKCommand(load, stdout), newUserCommand(load, stdout), newAndroidOriginCommand(environ, stdin, stdout), &cobra.Command{
		Use:   "version",
		Short: "Print the version, the git commit and the build date",
		Args:  cobra.NoArgs,
		Run:   func(*cobra.Command, []string) { printVersion(stdout) },
	})
	return root
}
