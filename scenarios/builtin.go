package scenarios

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"sort"
	"strings"
)

// builtinFS holds the example scenarios shipped next to this file. Files
// named *.example.yaml are templates the operator must fill in.
//
//go:embed *.yaml
var builtinFS embed.FS

// DefaultName is the name of the scenario Default returns.
const DefaultName = "local"

// Names lists the embedded scenarios by name (file name without ".yaml"),
// sorted. Names ending in ".example" are templates that need editing
// before they validate or make sense for the operator's setup.
func Names() []string {
	entries, err := fs.ReadDir(builtinFS, ".")
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	sort.Strings(names)
	return names
}

// Source returns the text of the embedded scenario name (with or without
// ".yaml"), comments included, e.g. to write a starting point for the
// operator to edit.
func Source(name string) ([]byte, error) {
	file := strings.TrimSuffix(name, ".yaml") + ".yaml"
	data, err := builtinFS.ReadFile(file)
	if err != nil {
		return nil, &Error{File: file, Msg: fmt.Sprintf("no built-in scenario %s (built-ins: %s); to use your own file, give its path",
			quote(name), strings.Join(Names(), ", "))}
	}
	return data, nil
}

// Builtin parses the embedded scenario name (with or without ".yaml").
// Templates (*.example) return the error telling what to fill in.
func Builtin(name string) (*Scenario, error) {
	data, err := Source(name)
	if err != nil {
		return nil, err
	}
	return Parse(data, strings.TrimSuffix(name, ".yaml")+".yaml")
}

// LoadFileOrBuiltin loads the scenario file arg or, when there is no
// such file and arg names a built-in scenario (local, local-entry, ...,
// with or without ".yaml"), that one: `relaybench run local-churn` works
// without the file.
func LoadFileOrBuiltin(arg string) (*Scenario, error) {
	name := strings.TrimSuffix(arg, ".yaml")
	if _, err := os.Stat(arg); err != nil && slices.Contains(Names(), name) {
		return Builtin(name)
	}
	return Load(arg)
}

// Default returns the built-in "local" scenario: a bulk ramp against a
// bridge in a local test network. It panics only if the embedded file is
// invalid, which the package tests rule out.
func Default() *Scenario {
	s, err := Builtin(DefaultName)
	if err != nil {
		panic(err)
	}
	return s
}
