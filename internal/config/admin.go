package config

import (
	"errors"
	"net"
	"net/netip"
	"strings"
)

// ErrAdminUnprotected is returned by CheckAdminExposure.
var ErrAdminUnprotected = errors.New("the admin API would be reachable from other machines without authentication: set server.admin.api_keys, bind server.admin.address to a loopback address, or set server.admin.allow_unauthenticated: true if a private network protects it")

// CheckAdminExposure refuses (ErrAdminUnprotected) an admin listener bound to a non-loopback address
// without server.admin.api_keys, unless server.admin.allow_unauthenticated says so. A host that is empty
// ("":8001), unspecified (0.0.0.0, ::) or any name other than "localhost" counts as non-loopback.
func (c Config) CheckAdminExposure() error {
	if len(c.Server.Admin.APIKeys) > 0 || c.Server.Admin.AllowUnauthenticated {
		return nil
	}
	if isLoopbackAddress(c.Server.Admin.Address) {
		return nil
	}
	return ErrAdminUnprotected
}

// isLoopbackAddress reports whether host:port names a loopback interface only.
func isLoopbackAddress(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}
