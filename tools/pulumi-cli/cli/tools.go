//go:build tools

// Package tools pins the Pulumi CLI so scripts/pulumi-toolchain.sh can build it
// from the Go module proxy (a plain `go install` refuses pkg/v3: its go.mod has replaces).
package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
