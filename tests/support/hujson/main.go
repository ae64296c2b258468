// hujson-check: parses a tailnet policy file with Tailscale's own HuJSON
// library and prints it as standard JSON (exit 1 with the parse error if it
// is not valid HuJSON). The tailscale-host tests use it as the oracle for
// the rendered policy.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/tailscale/hujson"
)

func main() {
	input, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	value, err := hujson.Parse(input)
	if err != nil {
		fmt.Fprintln(os.Stderr, "invalid HuJSON:", err)
		os.Exit(1)
	}
	value.Standardize()
	os.Stdout.Write(value.Pack())
}
