package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/inkan-auth/inkan/internal/mobile"
)

// newAndroidOriginCommand returns `inkan android-origin`: the WebAuthn origin of an Android app
// ("android:apk-key-hash:<base64url SHA-256 of the signing certificate>") from exactly one of a fingerprint
// (--sha256), a certificate file (--cert, PEM or DER) or a signing keystore (--keystore, JKS or PKCS#12;
// --alias, password from the variable named by --storepass-env in environ, else one line of stdin).
// It prints the origin and a newline, or with --json {"origin": "…", "sha256": "AB:CD:…"}.
func newAndroidOriginCommand(environ []string, stdin io.Reader, stdout io.Writer) *cobra.Command {
	var sha, certPath, ksPath, alias, passEnv string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "android-origin",
		Short: "Print the WebAuthn origin of an Android app from its signing certificate",
		Long: `android-origin prints the origin Android reports for passkey requests from an app,
android:apk-key-hash:<base64url of the SHA-256 of the app's signing certificate>.
inkan accepts it for every app in the mobile.android configuration already; use
this command to check a value or to list it in webauthn.relying_party.origins.

Give exactly one of:
  --sha256 AB:CD:…    the SHA-256 certificate fingerprint (Play Console, keytool -list)
  --cert FILE         the certificate, PEM or DER
  --keystore FILE     the signing keystore, JKS or PKCS#12; --alias chooses the key
                      (default: the only one). The store password is read from the
                      variable named by --storepass-env, else as one line of stdin.`,
		Example: `  inkan android-origin --sha256 14:6D:E9:83:C5:73:06:50:D8:EE:B9:95:2F:34:FC:64:16:A0:83:42:E6:1D:BE:A8:8A:04:96:B2:3F:CF:44:E5
  inkan android-origin --cert upload_cert.pem --json
  STOREPASS=… inkan android-origin --keystore upload.jks --alias upload --storepass-env STOREPASS`,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var given []string
			for _, f := range []string{"sha256", "cert", "keystore"} {
				if cmd.Flags().Changed(f) {
					given = append(given, "--"+f)
				}
			}
			if len(given) != 1 {
				return fmt.Errorf("give exactly one of --sha256, --cert or --keystore (got %d%s)", len(given), joinFlags(given))
			}
			if ksPath == "" && (cmd.Flags().Changed("alias") || cmd.Flags().Changed("storepass-env")) {
				return errors.New("--alias and --storepass-env apply to --keystore only")
			}

			var fp [32]byte
			var err error
			switch {
			case cmd.Flags().Changed("sha256"):
				if fp, err = mobile.ParseFingerprint(sha); err != nil {
					return fmt.Errorf("--sha256: %w", err)
				}
			case cmd.Flags().Changed("cert"):
				b, rerr := readSmallFile(certPath)
				if rerr != nil {
					return fmt.Errorf("--cert: %w", rerr)
				}
				if fp, err = mobile.CertFingerprint(b); err != nil {
					return fmt.Errorf("--cert %s: %w", certPath, err)
				}
			default:
				f, oerr := os.Open(ksPath)
				if oerr != nil {
					return fmt.Errorf("--keystore: %w", oerr)
				}
				defer f.Close()
				pw, perr := storePassword(environ, passEnv, stdin, cmd.ErrOrStderr())
				if perr != nil {
					return perr
				}
				fp, err = mobile.KeystoreFingerprint(f, pw, alias)
				clear(pw)
				if err != nil {
					return fmt.Errorf("--keystore %s: %w", ksPath, err)
				}
			}

			origin := mobile.AndroidOrigin(fp)
			if asJSON {
				return json.NewEncoder(stdout).Encode(struct {
					Origin string `json:"origin"`
					SHA256 string `json:"sha256"`
				}{origin, mobile.FormatFingerprint(fp)})
			}
			_, err = fmt.Fprintln(stdout, origin)
			return err
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&sha, "sha256", "", "SHA-256 certificate fingerprint, 32 colon-separated hex bytes (AB:CD:…) or 64 hex digits")
	fl.StringVar(&certPath, "cert", "", "signing certificate file, PEM or DER")
	fl.StringVar(&ksPath, "keystore", "", "signing keystore file, JKS or PKCS#12")
	fl.StringVar(&alias, "alias", "", "keystore alias of the signing key (default: the only private key entry)")
	fl.StringVar(&passEnv, "storepass-env", "", "name of the environment variable holding the keystore password (default: read a line from stdin)")
	fl.BoolVar(&asJSON, "json", false, `print {"origin": …, "sha256": "AB:CD:…"}`)
	return cmd
}

func joinFlags(flags []string) string {
	if len(flags) == 0 {
		return ""
	}
	return ": " + strings.Join(flags, ", ")
}

// readSmallFile reads a certificate file, refusing more than 1 MiB (certificates are a few KiB).
func readSmallFile(path string) ([]byte, error) {
	const limit = 1 << 20
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if len(b) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes; not a certificate", path, limit)
	}
	return b, nil
}

// storePassword returns the keystore password: the value of the variable named env in environ
// ("NAME=value" entries; the first one counts, as with os.Getenv), or else the first line of stdin
// without its line ending; when stdin is a terminal a prompt goes to prompt first (the input is echoed).
func storePassword(environ []string, env string, stdin io.Reader, prompt io.Writer) ([]byte, error) {
	if env != "" {
		for _, kv := range environ {
			if name, value, ok := strings.Cut(kv, "="); ok && name == env {
				return []byte(value), nil
			}
		}
		return nil, fmt.Errorf("--storepass-env: environment variable %s is not set", env)
	}
	if stdin == nil {
		return nil, errors.New("no keystore password: use --storepass-env VAR or give it on standard input")
	}
	if f, ok := stdin.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			fmt.Fprint(prompt, "Keystore password: ")
		}
	}
	line, err := bufio.NewReader(stdin).ReadBytes('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read keystore password from standard input: %w", err)
	}
	if len(line) == 0 {
		return nil, errors.New("no keystore password: use --storepass-env VAR or give it on standard input")
	}
	pw := []byte(strings.TrimRight(string(line), "\r\n"))
	clear(line)
	return pw, nil
}
