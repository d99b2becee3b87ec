//go:build tools

// Package tools pins the Node.js language host. Its own module
// (sdk/nodejs/cmd/pulumi-language-nodejs/v3) is not served by the Go module proxy;
// the newest copy it serves is this package inside sdk/v3@v3.68.0.
package tools

import _ "github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs"
