package cli

import (
	"fmt"
	"strings"
)

// Reference is the CLI reference in docs/cli.md: the command list, then
// every command's help exactly as `skulk-weights help COMMAND` prints it.
// Like Synopsis it is generated from the command table, and a test keeps
// the docs' copy equal to it.
func Reference() string {
	var b strings.Builder
	b.WriteString("```\n")
	printOverview(&b)
	b.WriteString("```\n")
	for _, c := range commands {
		writeReference(&b, c)
		for _, s := range c.subs {
			writeReference(&b, s)
		}
	}
	return b.String()
}

func writeReference(b *strings.Builder, c *command) {
	fmt.Fprintf(b, "\n### skulk-weights %s\n\n```\n", c.name)
	printHelp(b, c)
	b.WriteString("```\n")
}
