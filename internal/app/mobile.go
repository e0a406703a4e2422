package app

import (
	"github.com/inkan-auth/inkan/internal/config"
	"github.com/inkan-auth/inkan/internal/mobile"
)

// mobileApps copies the mobile: config section into internal/mobile's types.
func mobileApps(cfg config.Config) ([]mobile.AndroidApp, []mobile.AppleApp) {
	var android []mobile.AndroidApp
	for _, a := range cfg.Mobile.Android {
		android = append(android, mobile.AndroidApp{PackageName: a.PackageName, SHA256CertFingerprints: a.SHA256CertFingerprints})
	}
	var apple []mobile.AppleApp
	for _, a := range cfg.Mobile.Apple {
		apple = append(apple, mobile.AppleApp{TeamID: a.TeamID, BundleID: a.BundleID})
	}
	return android, apple
}

// mergeOrigins returns the configured WebAuthn origins followed by the
// origins derived from the Android apps' signing certificates, without
// duplicates: an app's origin is accepted without the operator writing it
// into webauthn.relying_party.origins.
func mergeOrigins(configured, derived []string) []string {
	seen := make(map[string]bool, len(configured)+len(derived))
	out := make([]string, 0, len(configured)+len(derived))
	for _, o := range append(append([]string{}, configured...), derived...) {
		if !seen[o] {
			seen[o] = true
			out = append(out, o)
		}
	}
	return out
}
