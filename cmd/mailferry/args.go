package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// reorderArgs moves every flag in front of the positional arguments, so that
// `mailferry copy SRC DST --dry-run` and `mailferry -v copy SRC DST` work:
// urfave/cli v2 stops parsing flags at the first positional argument and
// knows a subcommand's flags only after the subcommand's name.
//
// takesValue tells, for a flag name without dashes, whether it consumes the
// next argument; names it does not know are treated as boolean and left for
// the parser to reject. Everything after "--" stays positional, in order.
//
// The result is argv[0], the subcommand (if any), all flags in their
// original order, "--" if there were positional arguments, then the
// positional arguments in their original order.
func reorderArgs(argv []string, isCommand func(string) bool, takesValue func(string) bool) []string {
	if len(argv) == 0 {
		return argv
	}
	var command string
	var flags, positional []string
	rest := argv[1:]
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		switch {
		case a == "--":
			positional = append(positional, rest[i+1:]...)
			i = len(rest)
		case len(a) > 1 && a[0] == '-':
			flags = append(flags, a)
			name := strings.TrimLeft(a, "-")
			if strings.Contains(name, "=") {
				continue
			}
			if takesValue(name) && i+1 < len(rest) {
				i++
				flags = append(flags, rest[i])
			}
		case command == "" && len(positional) == 0 && isCommand(a):
			command = a
		default:
			positional = append(positional, a)
		}
	}
	out := []string{argv[0]}
	if command != "" {
		out = append(out, command)
	}
	out = append(out, flags...)
	for _, f := range flags {
		if f == "-h" || f == "--help" || f == "-help" {
			// Help for the command, whatever else was typed: urfave/cli
			// would take a positional argument for a help topic.
			positional = nil
		}
	}
	if len(positional) > 0 {
		// "--" keeps a positional argument that starts with "-" from
		// being read as a flag, and stops urfave/cli from parsing further.
		out = append(out, "--")
		out = append(out, positional...)
	}
	return out
}

// flagTable collects, over the app and all its commands, which flag names
// take a value, and which names are commands.
func flagTable(app *cli.App) (isCommand, takesValue func(string) bool) {
	commands := map[string]bool{}
	values := map[string]bool{}
	add := func(fs []cli.Flag) {
		for _, f := range fs {
			_, isBool := f.(*cli.BoolFlag)
			for _, n := range f.Names() {
				values[n] = !isBool
			}
		}
	}
	add(app.Flags)
	for _, c := range app.Commands {
		commands[c.Name] = true
		for _, a := range c.Aliases {
			commands[a] = true
		}
		add(c.Flags)
	}
	commands["help"] = true
	return func(s string) bool { return commands[s] }, func(s string) bool { return values[s] }
}
