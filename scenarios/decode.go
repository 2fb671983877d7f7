package scenarios

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Limits on what can be a scenario file, checked before it is decoded into
// a Scenario, so that no input, however malformed or hostile, costs
// relaybench much memory or time (validate stays under 50 MB on the
// malformed-scenario corpus; see TestValidatePeakMemory).
const (
	// MaxFileSize is the largest scenario file accepted. Real scenarios are
	// a few KiB.
	MaxFileSize = 64 << 10
	// maxNesting is the deepest nesting of mappings and lists accepted. The
	// deepest field, variants[i].torrc.OPTION, is at depth 5 (counting the
	// top-level mapping as 1); merge keys add a level or two.
	maxNesting = 16
	// maxAliases is the most aliases (*name) a file may hold. A scenario may
	// share a torrc or a variant between places with anchors, but has no
	// use for more than a handful.
	maxAliases = 100
	// maxAliasValues is the most values decoded through aliases. Aliases
	// of aliases expand exponentially ("billion laughs"); this stops a
	// small file from decoding into millions of values.
	maxAliasValues = 10_000
	// maxProblems is the most decode problems reported for one file; the
	// rest are counted.
	maxProblems = 20
)

// Load reads, decodes, defaults and validates the scenario file at path.
// Every error it returns holds *Error values (see Problems).
func Load(path string) (*Scenario, error) {
	data, err := readAtMost(path, MaxFileSize+1)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, &Error{File: path, Msg: fmt.Sprintf("cannot read it: %v (built-in scenarios: %s)",
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
// in error messages (usually the file name). The error is an *Error, or an
// ErrorList when decoding found several problems; Problems returns them.
// Decoding problems (syntax, wrong types, unknown or duplicated fields) are
// all reported; of the rules checked after decoding, only the first broken
// one in file order is.
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
		return nil, nil, &Error{File: path, Msg: fmt.Sprintf("cannot read it: %v", err)}
	}
	return parse(data, path)
}

// parse decodes and defaults data, then validates it: invalid is the
// first broken rule, err a failure to decode at all.
func parse(data []byte, name string) (s *Scenario, invalid, err error) {
	s, d, err := decode(data, name)
	if err != nil {
		return nil, nil, err
	}
	s.applyKindDefaults(d.given["clients"])
	s.applyCircuitCapDefaults(d.given["limits.circuit_rate"], d.given["limits.circuit_burst"])
	if verr := s.validate(name, d.pos); verr != nil {
		return s, verr, nil
	}
	return s, nil, nil
}

// decode decodes data over the field-independent defaults.
func decode(data []byte, name string) (*Scenario, *decoder, error) {
	root, err := parseTree(data, name)
	if err != nil {
		return nil, nil, err
	}
	d := &decoder{file: name, pos: positions{}, given: map[string]bool{}}
	s := defaultScenario()
	d.decode(root, reflect.ValueOf(s).Elem(), "")
	if err := d.err(); err != nil {
		return nil, nil, err
	}
	return s, d, nil
}

// parseTree checks that data can be a scenario file at all and parses it
// into a YAML node tree: the top-level mapping.
func parseTree(data []byte, name string) (*yaml.Node, error) {
	if len(data) > MaxFileSize {
		return nil, &Error{File: name, Msg: fmt.Sprintf("larger than %s; scenario files are a few KiB, so check that this is the right file",
			ByteSize(MaxFileSize))}
	}
	if err := checkText(data, name); err != nil {
		return nil, err
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			return nil, emptyError(name, data)
		}
		return nil, syntaxError(name, err, data)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err != io.EOF {
		e := &Error{File: name,
			Msg: "more than one YAML document: a scenario file holds exactly one; remove the '---' separator and what follows, or split the file"}
		switch {
		case err != nil: // the second document does not even parse
			e.Line = syntaxError(name, err, data).Line
		case len(extra.Content) > 0:
			e.Line, e.Column = extra.Content[0].Line, extra.Content[0].Column
		}
		return nil, e
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind == yaml.DocumentNode || isNull(root) {
		return nil, emptyError(name, data)
	}
	if root.Kind != yaml.MappingNode {
		return nil, &Error{File: name, Line: root.Line, Column: root.Column,
			Msg: fmt.Sprintf("the top level must be a mapping of fields (name:, target:, workload:, ...), not %s", describeNode(root))}
	}
	if err := checkShape(root, name); err != nil {
		return nil, err
	}
	return root, nil
}

// checkText refuses what is not UTF-8 text: binary files, UTF-16, control
// characters (which YAML forbids anyway, but without saying where).
func checkText(data []byte, name string) *Error {
	if bytes.HasPrefix(data, []byte{0xFF, 0xFE}) || bytes.HasPrefix(data, []byte{0xFE, 0xFF}) {
		return &Error{File: name, Line: 1, Column: 1, Msg: "the file is UTF-16 text: save it as UTF-8"}
	}
	line, col := 1, 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			return &Error{File: name, Line: line, Column: col,
				Msg: fmt.Sprintf("not UTF-8 text (byte 0x%02X); a scenario is a UTF-8 YAML file: is this the right file?", data[i])}
		case r == '\n':
			line, col = line+1, 0
		case r != '\t' && r != '\r' && r != 0xFEFF && unicode.IsControl(r):
			return &Error{File: name, Line: line, Column: col,
				Msg: fmt.Sprintf("a control character (%U): a scenario is a UTF-8 YAML text file: is this the right file? (write control characters in double quotes as escapes, e.g. \"\\t\")", r)}
		}
		i += size
		col++
	}
	return nil
}

// checkShape refuses node trees that no scenario has: deeper nesting than
// any field, or more aliases than any sharing needs. It walks the tree
// without following aliases, so it is linear in the file's size.
func checkShape(root *yaml.Node, name string) *Error {
	type item struct {
		n     *yaml.Node
		depth int
		top   string // the top-level field the node is under
	}
	stack := []item{{n: root, depth: 1}}
	aliases := 0
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		n := it.n
		if it.depth > maxNesting {
			return &Error{File: name, Line: n.Line, Column: n.Column, Field: it.top,
				Msg: fmt.Sprintf("nested more than %d levels deep; no scenario field is nested that deep, so check the indentation and the brackets", maxNesting)}
		}
		if n.Kind == yaml.AliasNode {
			if aliases++; aliases > maxAliases {
				return &Error{File: name, Line: n.Line, Column: n.Column, Field: it.top,
					Msg: fmt.Sprintf("more than %d aliases (*name) in the file; a scenario needs only a few: write the values out", maxAliases)}
			}
		}
		// In reverse, so that the first problem in file order is found first.
		for i := len(n.Content) - 1; i >= 0; i-- {
			top := it.top
			if n == root {
				top = fieldName(n.Content[i&^1].Value)
			}
			stack = append(stack, item{n: n.Content[i], depth: it.depth + 1, top: top})
		}
	}
	return nil
}

func emptyError(name string, data []byte) *Error {
	what := "the file is empty"
	for _, line := range bytes.Split(bytes.TrimPrefix(data, []byte("\uFEFF")), []byte("\n")) {
		line = bytes.TrimSpace(line)
		switch {
		case len(line) == 0:
		case line[0] == '#':
			if what == "the file is empty" {
				what = "the file has no fields, only comments"
			}
		default:
			what = "the file has no fields"
		}
	}
	return &Error{File: name,
		Msg: what + "; start from a built-in scenario (" + strings.Join(Names(), ", ") + ") in relaybench's scenarios/ directory"}
}

// syntaxError turns a YAML parser error into an *Error. yaml.v3 gives
// syntax errors as text only ("yaml: line N: MESSAGE", the line sometimes
// one off), so its line is the one thing read back from the text; a tab in
// the indentation, YAML's most common trap, is found in data instead.
func syntaxError(name string, err error, data []byte) *Error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, m, ok := strings.Cut(rest, ": "); ok {
			if n, err := strconv.Atoi(num); err == nil {
				line, msg = n, m
			}
		}
	}
	if tabLine, tabCol := indentTab(data, line+1); tabLine > 0 {
		return &Error{File: name, Line: tabLine, Column: tabCol,
			Msg: "invalid YAML: this line is indented with a tab; YAML indents with spaces only"}
	}
	if line > 0 {
		msg += " (check indentation, and quote values containing ': ' or '#')"
	}
	return &Error{File: name, Line: line, Msg: "invalid YAML: " + msg}
}

// indentTab returns the line and column of the first tab in the indentation
// of lines 1 to upTo (all lines if upTo is 1), or 0, 0.
func indentTab(data []byte, upTo int) (line, col int) {
	for i, l := range bytes.Split(data, []byte("\n")) {
		if upTo > 1 && i+1 > upTo {
			break
		}
		indent := len(l) - len(bytes.TrimLeft(l, " \t"))
		if j := bytes.IndexByte(l[:indent], '\t'); j >= 0 && indent < len(l) {
			return i + 1, j + 1
		}
	}
	return 0, 0
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

// position is where a field is in the file (1-based).
type position struct{ line, column int }

// positions maps field paths to the position of their key or list item,
// for the errors of rules checked after decoding. Nil for a scenario built
// in Go.
type positions map[string]position

// record keeps the first position seen for path: the explicit key wins over
// one merged in with '<<'.
func (p positions) record(path string, n *yaml.Node) {
	if _, seen := p[path]; !seen {
		p[path] = position{n.Line, n.Column}
	}
}

// of returns the position of path, or of its closest ancestor present in
// the file, or the zero position.
func (p positions) of(path string) position {
	for path != "" && p != nil {
		if at, ok := p[path]; ok {
			return at
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return position{}
}

// decoder decodes a YAML node tree into a Scenario by reflection, one field
// at a time, so that each problem is reported as an *Error built from the
// node that has it. It follows yaml.v3's semantics (null keeps a default,
// merge keys, aliases; scalars resolved by yaml.v3 itself) with three
// exceptions: a fraction is not truncated into a whole number, an empty
// list item is an error instead of being dropped, and problems are values
// instead of text.
type decoder struct {
	file     string
	problems ErrorList
	dropped  int             // problems beyond maxProblems
	pos      positions       // where each decoded field is
	given    map[string]bool // fields outside lists given a non-null value, by path

	inAlias  int // depth of alias expansion
	expanded int // values decoded through aliases
	stopped  bool
	merging  map[*yaml.Node]bool // mappings being merged, against merge cycles
}

// err returns the problems found, in file order, or nil.
func (d *decoder) err() error {
	slices.SortStableFunc(d.problems, func(a, b *Error) int {
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return a.Column - b.Column
	})
	if d.dropped > 0 {
		d.problems = append(d.problems, &Error{File: d.file,
			Msg: fmt.Sprintf("%d more problems not shown; fix the ones above first", d.dropped)})
	}
	return d.problems.err()
}

func (d *decoder) problem(at *yaml.Node, path, format string, args ...any) {
	if len(d.problems) >= maxProblems {
		d.dropped++
		return
	}
	d.problems = append(d.problems, &Error{File: d.file, Line: at.Line, Column: at.Column, Field: path, Msg: fmt.Sprintf(format, args...)})
}

// spend counts a value decoded through an alias and reports whether the
// budget allows it.
func (d *decoder) spend(at *yaml.Node, path string) bool {
	if d.stopped {
		return false
	}
	if d.inAlias > 0 {
		if d.expanded++; d.expanded > maxAliasValues {
			d.stopped = true
			d.problem(at, path, "aliases expand to more than %d values; write the values out instead of nesting aliases", maxAliasValues)
			return false
		}
	}
	return true
}

// decode decodes n into v. path is v's field path.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	if !d.spend(n, path) {
		return
	}
	at := n // problems are reported where the alias is used
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			d.problem(at, path, "an alias to nothing")
			return
		}
		d.inAlias++
		defer func() { d.inAlias-- }()
		n = n.Alias
	}
	if isNull(n) {
		// As yaml.v3: null leaves a default in place and empties pointers,
		// lists and maps.
		switch v.Kind() {
		case reflect.Pointer, reflect.Map, reflect.Slice:
			v.SetZero()
		}
		return
	}
	if !strings.ContainsAny(path, "[") {
		d.given[path] = true
	}
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		v = v.Elem()
	}
	if u, ok := v.Addr().Interface().(encoding.TextUnmarshaler); ok {
		// A unit (Duration, ByteSize, Rate): one scalar in its own syntax,
		// whose error is the message alone.
		if n.Kind != yaml.ScalarNode {
			d.problem(at, path, "expected %s, got %s", describeType(v.Type()), describeNode(n))
		} else if err := u.UnmarshalText([]byte(n.Value)); err != nil {
			d.problem(at, path, "%v", err)
		}
		return
	}
	want := yaml.ScalarNode
	switch v.Kind() {
	case reflect.Struct, reflect.Map:
		want = yaml.MappingNode
	case reflect.Slice:
		want = yaml.SequenceNode
	}
	if n.Kind != want {
		d.problem(at, path, "expected %s, got %s", describeType(v.Type()), describeNode(n))
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Map:
		d.decodeMap(n, v, path)
	case reflect.Slice:
		d.decodeSlice(n, v, path)
	default:
		d.decodeScalar(at, n, v, path)
	}
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	info := structInfoOf(v.Type())
	d.entries(n, path, func(key, val *yaml.Node, name string) {
		p := joinPath(path, fieldName(name))
		i, ok := info.index[name]
		if !ok {
			d.problem(key, p, "%s", unknownFieldMsg(name, info.names))
			return
		}
		d.pos.record(p, key)
		d.decode(val, v.Field(i), p)
	})
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, path string) {
	if v.IsNil() {
		v.Set(reflect.MakeMap(v.Type()))
	}
	d.entries(n, path, func(key, val *yaml.Node, name string) {
		p := joinPath(path, fieldName(name))
		d.pos.record(p, key)
		e := reflect.New(v.Type().Elem()).Elem()
		d.decode(val, e, p)
		v.SetMapIndex(reflect.ValueOf(name).Convert(v.Type().Key()), e)
	})
}

func (d *decoder) decodeSlice(n *yaml.Node, v reflect.Value, path string) {
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		p := path + "[" + strconv.Itoa(i) + "]"
		d.pos.record(p, item)
		if it := item; isNull(it) || (it.Kind == yaml.AliasNode && it.Alias != nil && isNull(it.Alias)) {
			// yaml.v3 would silently drop the item, shifting the others.
			d.problem(item, p, "an empty item; remove it or give it a value")
			continue
		}
		d.decode(item, s.Index(i), p)
	}
	v.Set(s)
}

// decodeScalar decodes a scalar node into a string, bool, whole number or number,
// letting yaml.v3 resolve the scalar (quotes, tags, 0x10, 1_000, .inf).
func (d *decoder) decodeScalar(at, n *yaml.Node, v reflect.Value, path string) {
	wrong := func() { d.problem(at, path, "expected %s, got %s", describeType(v.Type()), describeNode(n)) }
	if k := v.Kind(); k == reflect.String || k == reflect.Bool {
		p := reflect.New(v.Type())
		if err := n.Decode(p.Interface()); err != nil {
			wrong()
			return
		}
		v.Set(p.Elem())
		return
	}
	var x any
	if err := n.Decode(&x); err != nil {
		wrong()
		return
	}
	var f float64
	switch x := x.(type) {
	case int:
		f = float64(x)
		if v.Kind() == reflect.Int {
			v.SetInt(int64(x))
			return
		}
	case uint64:
		f = float64(x)
	case float64:
		f = x
	default:
		wrong()
		return
	}
	switch v.Kind() {
	case reflect.Float64:
		v.SetFloat(f)
	case reflect.Int:
		switch {
		case f != math.Trunc(f) || math.IsInf(f, 0): // also NaN
			wrong()
		case f >= math.MaxInt64: // float64(MaxInt64) is 2^63
			d.problem(at, path, "%s is too large for a whole number", quote(n.Value))
		case f < math.MinInt64:
			d.problem(at, path, "%s is too small for a whole number", quote(n.Value))
		default:
			v.SetInt(int64(f))
		}
	default:
		panic(fmt.Sprintf("scenarios: decoder does not handle %s (field %s)", v.Type(), path))
	}
}

// entries calls fn with each key and value of mapping n in the order yaml.v3
// applies them: the mapping's own keys first, then those of mappings merged
// in with '<<', whose keys never override a key already seen. A key written
// twice in one mapping is a problem.
func (d *decoder) entries(n *yaml.Node, path string, fn func(key, val *yaml.Node, name string)) {
	d.entriesOf(n, path, map[string]int{}, false, fn)
}

func (d *decoder) entriesOf(n *yaml.Node, path string, seen map[string]int, merged bool, fn func(key, val *yaml.Node, name string)) {
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i], n.Content[i+1]
		if isMerge(key) {
			merges = append(merges, val)
			continue
		}
		k := key
		if k.Kind == yaml.AliasNode && k.Alias != nil {
			k = k.Alias
		}
		if k.Kind != yaml.ScalarNode {
			d.problem(key, path, "a field name must be a plain word, not %s", describeNode(k))
			continue
		}
		name := k.Value
		if first, dup := seen[name]; dup {
			if !merged {
				d.problem(key, joinPath(path, fieldName(name)), "set twice (first on line %d); keep only one", first)
			}
			continue
		}
		seen[name] = key.Line
		fn(key, val, name)
	}
	for _, m := range merges {
		d.merge(m, path, seen, fn)
	}
}

// merge applies the mapping, or list of mappings, of a '<<' key.
func (d *decoder) merge(m *yaml.Node, path string, seen map[string]int, fn func(key, val *yaml.Node, name string)) {
	mergeOne := func(at, m *yaml.Node) {
		if !d.spend(at, path) {
			return
		}
		if m.Kind == yaml.AliasNode && m.Alias != nil {
			d.inAlias++
			defer func() { d.inAlias-- }()
			m = m.Alias
		}
		if m.Kind != yaml.MappingNode {
			d.problem(at, joinPath(path, "<<"), "expected a mapping or a list of mappings to merge, got %s", describeNode(m))
			return
		}
		if d.merging[m] {
			d.problem(at, joinPath(path, "<<"), "merges a mapping into itself")
			return
		}
		if d.merging == nil {
			d.merging = map[*yaml.Node]bool{}
		}
		d.merging[m] = true
		defer delete(d.merging, m)
		d.entriesOf(m, path, seen, true, fn)
	}
	if m.Kind == yaml.SequenceNode {
		for _, item := range m.Content {
			mergeOne(item, item)
		}
		return
	}
	mergeOne(m, m)
}

func isMerge(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Value == "<<" && (n.Tag == "" || n.Tag == "!" || n.ShortTag() == "!!merge")
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// fieldName is a mapping key as written in a field path: quoted (and
// shortened) when it is empty, long, or holds characters that would make
// the path ambiguous or unprintable.
func fieldName(key string) string {
	if key == "" || len(key) > 64 || strings.ContainsAny(key, ".[]\"") ||
		strings.IndexFunc(key, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return quote(key)
	}
	return key
}

// structInfo lists a struct type's YAML field names.
type structInfo struct {
	names []string       // in declaration order, for messages
	index map[string]int // YAML name -> field index
}

var structInfos sync.Map // reflect.Type -> *structInfo

func structInfoOf(t reflect.Type) *structInfo {
	if info, ok := structInfos.Load(t); ok {
		return info.(*structInfo)
	}
	info := &structInfo{index: map[string]int{}}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name) // yaml.v3's default
		}
		info.names = append(info.names, name)
		info.index[name] = i
	}
	structInfos.Store(t, info)
	return info
}

// describeType says in words what YAML value a Go type wants.
func describeType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if example, ok := unitExamples[t]; ok {
		return example
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "a mapping"
	case reflect.Slice:
		return "a list"
	case reflect.Int, reflect.Int64:
		return "a whole number"
	case reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	}
	return "a " + t.String()
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
