package scenarios

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Error is a problem with a scenario file. Its message has the form
//
//	scenario FILE:LINE: FIELD: MESSAGE
//
// where FILE is the name given to Parse (the path for Load), LINE is
// omitted when unknown (e.g. for a missing top-level field or a scenario
// built in Go) and FIELD is the dotted field path, with 0-based list indexes
// ("ramp.steps[2]", "variants[0].torrc.ConnLimit"). FIELD is empty only for
// problems with the file as a whole (YAML syntax, empty file).
type Error struct {
	// Source names the file, as given to Parse; may be empty.
	Source string
	// Line is the 1-based line of the offending key or value, or 0.
	Line int
	// Field is the dotted path of the offending field, or "".
	Field string
	// Msg says what is wrong and what to do about it.
	Msg string
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("scenario")
	if e.Source != "" {
		b.WriteString(" " + e.Source)
		if e.Line > 0 {
			b.WriteString(":" + strconv.Itoa(e.Line))
		}
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// MaxFileSize is the largest scenario file accepted. Real scenarios are a
// few KiB; the cap keeps hostile or mistaken input (yaml.v3's duplicate-key
// check is quadratic in mapping size) from stalling relaybench.
const MaxFileSize = 64 << 10

// Load reads, decodes, defaults and validates the scenario file at path.
func Load(path string) (*Scenario, error) {
	data, err := readAtMost(path, MaxFileSize+1)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, &Error{Source: path, Msg: fmt.Sprintf("cannot read it: %v (built-in scenarios: %s)",
			err, strings.Join(Names(), ", "))}
	}
	return Parse(data, path)
}

func readAtMost(path string, n int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, n))
}

// Parse decodes, defaults and validates a scenario. name identifies the data
// in error messages (usually the file name). Every error is an *Error.
func Parse(data []byte, name string) (*Scenario, error) {
	s, invalid, err := parse(data, name)
	if err != nil {
		return nil, err
	}
	if invalid != nil {
		return nil, invalid
	}
	return s, nil
}

// LoadRun reads the scenario.yaml of a run directory. Unlike Load, a
// scenario that decodes but breaks a rule is returned, with the broken
// rule in invalid: the run happened with it, and must stay analysable when
// the rules change between versions or a test ran something they reject
// (a relay target served by the embedded network).
func LoadRun(path string) (s *Scenario, invalid, err error) {
	data, err := readAtMost(path, MaxFileSize+1)
	if err != nil {
		return nil, nil, &Error{Source: path, Msg: fmt.Sprintf("cannot read it: %v", err)}
	}
	return parse(data, path)
}

// parse decodes and defaults data, then validates it: invalid is the
// first broken rule, err a failure to decode at all.
func parse(data []byte, name string) (s *Scenario, invalid, err error) {
	if len(data) > MaxFileSize {
		return nil, nil, &Error{Source: name, Msg: fmt.Sprintf("larger than %s; scenario files are a few KiB, so check that this is the right file",
			ByteSize(MaxFileSize))}
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			return nil, nil, emptyError(name)
		}
		return nil, nil, syntaxError(name, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err != io.EOF {
		line := 0
		if len(extra.Content) > 0 {
			line = extra.Content[0].Line
		}
		return nil, nil, &Error{Source: name, Line: line,
			Msg: "more than one YAML document: a scenario file holds exactly one; remove the '---' separator and what follows, or split the file"}
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind == yaml.DocumentNode || (root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null") {
		return nil, nil, emptyError(name)
	}
	if root.Kind != yaml.MappingNode {
		return nil, nil, &Error{Source: name, Line: root.Line,
			Msg: fmt.Sprintf("the top level must be a mapping of fields (name:, target:, workload:, ...), not %s", describeNode(root))}
	}
	idx := newIndex(root)

	s = defaultScenario()
	strict := yaml.NewDecoder(bytes.NewReader(data))
	strict.KnownFields(true)
	if err := strict.Decode(s); err != nil {
		return nil, nil, idx.decodeError(name, err)
	}
	s.applyKindDefaults(idx.present("clients"))
	if verr := s.validate(name, idx); verr != nil {
		return s, verr, nil
	}
	return s, nil, nil
}

func emptyError(name string) *Error {
	return &Error{Source: name,
		Msg: "the file is empty; start from a built-in scenario (" + strings.Join(Names(), ", ") + ") in relaybench's scenarios/ directory"}
}

var syntaxLineRE = regexp.MustCompile(`(?s)^yaml: line (\d+): (.*)$`)

// syntaxError turns a YAML parser error into an *Error.
func syntaxError(name string, err error) *Error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if m := syntaxLineRE.FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	if line > 0 {
		msg += " (check indentation, and quote values containing ': ' or '#')"
	}
	return &Error{Source: name, Line: line, Msg: "invalid YAML: " + msg}
}

// Marshal returns the resolved scenario as YAML, every default spelled out,
// for the run directory. Parse(Marshal(s)) yields a Scenario equal to s.
func (s *Scenario) Marshal() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString("# Resolved relaybench scenario: every default is filled in.\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(s); err != nil {
		return nil, fmt.Errorf("scenario %s: marshal: %w", s.Name, err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("scenario %s: marshal: %w", s.Name, err)
	}
	return buf.Bytes(), nil
}

// index records where each field of a scenario file is, so that decode and
// validation errors can name a line and a field path.
type index struct {
	lines  map[string]int        // field path -> line of its key or list item
	byLine map[int][]indexedNode // line -> nodes starting on it, in document order
	root   *yaml.Node
}

type indexedNode struct {
	n     *yaml.Node
	path  string
	isKey bool
}

func newIndex(root *yaml.Node) *index {
	idx := &index{lines: map[string]int{}, byLine: map[int][]indexedNode{}, root: root}
	idx.walk(root, "")
	return idx
}

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// walk records n and its children. Aliases are not followed: their targets
// are recorded where they are defined.
func (idx *index) walk(n *yaml.Node, path string) {
	idx.byLine[n.Line] = append(idx.byLine[n.Line], indexedNode{n: n, path: path})
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := joinPath(path, k.Value)
			if k.Kind == yaml.ScalarNode && k.Value == "<<" && k.ShortTag() == "!!merge" {
				p = path // merged fields belong to the enclosing mapping
			}
			idx.byLine[k.Line] = append(idx.byLine[k.Line], indexedNode{n: k, path: p, isKey: true})
			if _, seen := idx.lines[p]; !seen {
				idx.lines[p] = k.Line
			}
			idx.walk(v, p)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			p := path + "[" + strconv.Itoa(i) + "]"
			if _, seen := idx.lines[p]; !seen {
				idx.lines[p] = c.Line
			}
			idx.walk(c, p)
		}
	}
}

// lineOf returns the line of path, or of its closest ancestor present in
// the file, or 0.
func (idx *index) lineOf(path string) int {
	if idx == nil {
		return 0
	}
	for path != "" {
		if l, ok := idx.lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

// present reports whether top-level key is in the file with a non-null value.
func (idx *index) present(key string) bool {
	for i := 0; i+1 < len(idx.root.Content); i += 2 {
		if idx.root.Content[i].Value == key {
			return idx.root.Content[i+1].ShortTag() != "!!null"
		}
	}
	return false
}

var (
	// Messages produced by yaml.v3's decoder and by nodeErrorf.
	reNodeErr = regexp.MustCompile(`(?s)^line (\d+): column (\d+): (.*)$`)
	reUnknown = regexp.MustCompile(`(?s)^line (\d+): field (.*) not found in type (\S+)$`)
	reDup     = regexp.MustCompile(`(?s)^line (\d+): mapping key (".*") already defined at line (\d+)$`)
	reType    = regexp.MustCompile("(?s)^line (\\d+): cannot unmarshal (!!\\w+)(?: `(.*)`)? into (.+)$")
	reLine    = regexp.MustCompile(`(?s)^line (\d+): (.*)$`)
)

// decodeError turns an error from the strict decoder into the *Error for the
// first problem in the file.
func (idx *index) decodeError(name string, err error) *Error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return syntaxError(name, err)
	}
	// Only the first problem in the file is reported, so translate only
	// that one: translating is not free on long lines.
	first, firstLine := "", 0
	for _, msg := range te.Errors {
		line := 0
		if m := reLine.FindStringSubmatch(msg); m != nil {
			line, _ = strconv.Atoi(m[1])
		}
		if first == "" || line < firstLine {
			first, firstLine = msg, line
		}
	}
	return idx.translate(name, first)
}

func (idx *index) translate(name, msg string) *Error {
	atoi := func(s string) int { n, _ := strconv.Atoi(s); return n }
	if m := reNodeErr.FindStringSubmatch(msg); m != nil {
		line, col := atoi(m[1]), atoi(m[2])
		for _, in := range idx.byLine[line] {
			if !in.isKey && in.n.Column == col {
				return &Error{Source: name, Line: line, Field: in.path, Msg: m[3]}
			}
		}
		return &Error{Source: name, Line: line, Msg: m[3]}
	}
	if m := reUnknown.FindStringSubmatch(msg); m != nil {
		line, field := atoi(m[1]), m[2]
		e := &Error{Source: name, Line: line, Field: field}
		for _, in := range idx.byLine[line] {
			if in.isKey && in.n.Value == field {
				e.Field = in.path
				break
			}
		}
		e.Msg = unknownFieldMsg(field, yamlFields(m[3]))
		return e
	}
	if m := reDup.FindStringSubmatch(msg); m != nil {
		line := atoi(m[1])
		key, err := strconv.Unquote(m[2])
		if err != nil {
			key = m[2]
		}
		e := &Error{Source: name, Line: line, Field: key,
			Msg: fmt.Sprintf("set twice (first on line %s); keep only one", m[3])}
		for _, in := range idx.byLine[line] {
			if in.isKey && in.n.Value == key {
				e.Field = in.path
				break
			}
		}
		return e
	}
	if m := reType.FindStringSubmatch(msg); m != nil {
		line := atoi(m[1])
		e := &Error{Source: name, Line: line}
		var found *indexedNode
		nodes := idx.byLine[line]
		for i := range nodes {
			in := &nodes[i]
			if in.isKey {
				continue
			}
			if found == nil {
				found = in
			}
			if m[3] != "" && in.n.Kind == yaml.ScalarNode &&
				(in.n.Value == m[3] || (strings.HasSuffix(m[3], "...") && strings.HasPrefix(in.n.Value, strings.TrimSuffix(m[3], "...")))) {
				found = in
				break
			}
		}
		got := "`" + m[3] + "`"
		if found != nil {
			e.Field = found.path
			got = describeNode(found.n)
		} else if m[2] == "!!seq" {
			got = "a list"
		} else if m[2] == "!!map" {
			got = "a mapping"
		}
		e.Msg = fmt.Sprintf("expected %s, got %s", describeGoType(m[4]), got)
		return e
	}
	if m := reLine.FindStringSubmatch(msg); m != nil {
		return &Error{Source: name, Line: atoi(m[1]), Msg: m[2]}
	}
	return &Error{Source: name, Msg: msg}
}

func unknownFieldMsg(field string, known []string) string {
	msg := "unknown field"
	if s := suggest(field, known); s != "" {
		msg += fmt.Sprintf("; did you mean %s?", s)
	}
	if len(known) > 0 {
		msg += " (valid here: " + strings.Join(known, ", ") + ")"
	}
	return msg
}

// suggest returns the known field closest to field, if close enough to be a
// likely typo.
func suggest(field string, known []string) string {
	norm := func(s string) string { return strings.ReplaceAll(strings.ToLower(s), "-", "_") }
	best, bestDist := "", 3
	for _, k := range known {
		if norm(k) == norm(field) {
			return k
		}
		if d := editDistance(norm(field), k); d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// schemaTypes maps Go type names as printed by reflect ("scenarios.Ramp")
// to the types reachable from Scenario.
var schemaTypes = func() map[string]reflect.Type {
	m := map[string]reflect.Type{}
	var visit func(t reflect.Type)
	visit = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if _, seen := m[t.String()]; seen {
			return
		}
		m[t.String()] = t
		if t.Kind() == reflect.Struct {
			for i := 0; i < t.NumField(); i++ {
				visit(t.Field(i).Type)
			}
		}
	}
	visit(reflect.TypeOf(Scenario{}))
	return m
}()

// yamlFields lists the YAML field names of the named struct type.
func yamlFields(typeName string) []string {
	t, ok := schemaTypes[typeName]
	if !ok || t.Kind() != reflect.Struct {
		return nil
	}
	var names []string
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			names = append(names, name)
		}
	}
	return names
}

// describeGoType says in words what YAML value a Go type wants.
func describeGoType(name string) string {
	name = strings.TrimLeft(name, "*")
	switch {
	case strings.HasPrefix(name, "[]"):
		return "a list"
	case strings.HasPrefix(name, "map["):
		return "a mapping"
	}
	kind := reflect.Invalid
	if t, ok := schemaTypes[name]; ok {
		kind = t.Kind()
	} else {
		switch name {
		case "int", "int64":
			kind = reflect.Int
		case "float64":
			kind = reflect.Float64
		case "string":
			kind = reflect.String
		}
	}
	switch kind {
	case reflect.Struct:
		return "a mapping"
	case reflect.Int, reflect.Int64:
		return "a whole number"
	case reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	}
	return "a " + name
}
