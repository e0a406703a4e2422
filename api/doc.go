// Package api holds the OpenAPI document of inkan's HTTP API.
package api
