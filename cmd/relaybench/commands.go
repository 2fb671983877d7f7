package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// commandSet is a table of commands and the usage text that lists them:
// relaybench's own, and testnet's subcommands.
type commandSet struct {
	name     string // "" for relaybench's commands, "testnet" for its subcommands
	usage    string
	commands []command
}

// command is one entry of a commandSet: its flags and its action.
type command struct {
	name string
	args argRule
	// usage, if set, heads the flag list of -h instead of "Usage of NAME:".
	usage string
	// flags defines the command's flags and returns its action, which runs
	// with the arguments left once the flags are parsed.
	flags func(fs *flag.FlagSet) action
	// run, instead of flags, is the action of a command that parses no
	// flags: it gets every argument.
	run action
}

type action func(args []string, stdout, stderr io.Writer) error

// argRule is how a command takes the arguments besides its flags.
type argRule int

const (
	noArgs         argRule = iota // any is a usage error
	argsAfterFlags                // flags first: parsing stops at the first argument
	argsAnywhere                  // flags anywhere among the arguments; after "--" all are arguments
)

// run runs the command args[0] names with the rest of args; without one,
// or with an unknown one, it prints the usage and returns a usage error.
func (cs commandSet) run(args []string, stdout, stderr io.Writer) error {
	prefix, noun := "", "command"
	if cs.name != "" {
		prefix, noun = cs.name+": ", "subcommand"
	}
	if len(args) == 0 {
		fmt.Fprint(stderr, cs.usage)
		return usagef("%sno %s given", prefix, noun)
	}
	switch args[0] {
	case "help", "-h", "--help":
		fmt.Fprint(stdout, cs.usage)
		return nil
	}
	for _, c := range cs.commands {
		if c.name == args[0] {
			if c.run != nil {
				return c.run(args[1:], stdout, stderr)
			}
			return c.parseAndRun(strings.TrimSpace(cs.name+" "+c.name), args[1:], stdout, stderr)
		}
	}
	fmt.Fprint(stderr, cs.usage)
	return usagef("%sunknown %s %q", prefix, noun, args[0])
}

// parseAndRun parses the flags of the command called name and runs its
// action.
// -h prints the usage and returns flag.ErrHelp (exit 0); a bad flag or
// argument is a usage error.
func (c command) parseAndRun(name string, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	act := c.flags(fs)
	if c.usage != "" {
		fs.Usage = func() {
			fmt.Fprint(fs.Output(), c.usage)
			fs.PrintDefaults()
		}
	}
	var err error
	if c.args == argsAnywhere {
		args, err = parseInterspersed(fs, args)
	} else {
		err = fs.Parse(args)
		args = fs.Args()
	}
	switch {
	case errors.Is(err, flag.ErrHelp):
		return err // usage printed; main exits 0
	case err != nil:
		return usageError{err}
	case c.args == noArgs && len(args) > 0:
		return usagef("%s: unexpected argument %q", name, args[0])
	}
	return act(args, stdout, stderr)
}

// parseInterspersed parses flags wherever they are among the arguments, so
// that `compare A B --format json` works as well as the flags first; after
// "--" everything is an argument.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}
