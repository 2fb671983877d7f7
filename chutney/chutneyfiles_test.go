package chutney

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Offline checks of networks/relaybench and torrc_templates/relaybench-*.tmpl,
// the files that describe relaybench's topology for torproject's (classic)
// chutney. Chutney itself is not run here; these tests check what chutney
// would trip over: unknown templates, template variables no node defines, and
// node numbers that disagree with the order chutney numbers nodes in.

// stockChutneyTemplates are files of classic chutney's torrc_templates/ that
// our files may name (seen in torproject/chutney's repository).
var stockChutneyTemplates = map[string]bool{
	"common.i":            true,
	"authority.i":         true,
	"authority.tmpl":      true,
	"relay.tmpl":          true, // relay-non-exit.tmpl + exit-v4.i
	"relay-non-dir.tmpl":  true,
	"relay-non-exit.tmpl": true,
	"exit-v4.i":           true,
	"client.tmpl":         true,
	"bridge.tmpl":         true,
	"bridgeclient.tmpl":   true,
}

// chutneyEnvVars are template variables classic chutney defines for every
// node (TorNet.py: DEFAULTS and TorEnviron's computed values).
var chutneyEnvVars = map[string]bool{
	"dir": true, "nick": true, "tag": true, "nodenum": true, "ip": true,
	"orport": true, "dirport": true, "controlport": true, "socksport": true,
	"connlimit": true, "authorities": true, "bridges": true, "sandbox": true,
	"owning_controller_process": true, "server_dns_resolv_conf": true,
	"orport_base": true, "dirport_base": true, "controlport_base": true,
	"socksport_base": true, "torrc_fname": true,
}

// chutney's default port bases (TorNet.py DEFAULTS).
const (
	chutneyORPortBase    = 5000
	chutneySocksPortBase = 9000
)

const (
	chutneyNetworkFile  = "networks/relaybench"
	chutneyTemplatesDir = "torrc_templates"
)

type chutneyNodeDef struct {
	name   string
	kwargs map[string]string // Python expressions, string literals unquoted
}

type chutneyNode struct {
	num int
	def *chutneyNodeDef
}

func (n chutneyNode) nick() string      { return fmt.Sprintf("test%03d%s", n.num, n.def.kwargs["tag"]) }
func (n chutneyNode) torrc() string     { return n.def.kwargs["torrc"] }
func (n chutneyNode) is(kw string) bool { return n.def.kwargs[kw] == "1" }

type chutneyNetwork struct {
	text   string // with comments
	consts map[string]string
	nodes  []chutneyNode
}

// stripPythonComments removes # comments outside string literals.
func stripPythonComments(src string) string {
	var out strings.Builder
	for line := range strings.SplitSeq(src, "\n") {
		var quote rune
		cut := len(line)
		for i, r := range line {
			if quote != 0 {
				if r == quote {
					quote = 0
				}
				continue
			}
			if r == '"' || r == '\'' {
				quote = r
			} else if r == '#' {
				cut = i
				break
			}
		}
		out.WriteString(line[:cut])
		out.WriteByte('\n')
	}
	return out.String()
}

// splitTopLevel splits s at commas outside parentheses, brackets and strings.
func splitTopLevel(s string) []string {
	var parts []string
	depth, start := 0, 0
	var quote rune
	for i, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '"' || r == '\'':
			quote = r
		case r == '(' || r == '[':
			depth++
		case r == ')' || r == ']':
			depth--
		case r == ',' && depth == 0:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

var (
	reConst     = regexp.MustCompile(`(?m)^([A-Z][A-Z0-9_]*)\s*=\s*("[^"]*"|\d+)\s*$`)
	reNodeStart = regexp.MustCompile(`(?m)^(\w+)\s*=\s*Node\(`)
	reGetN      = regexp.MustCompile(`(?m)^(\w+)\s*=\s*(\w+)\.getN\((\d+)\)\s*$`)
	reNodes     = regexp.MustCompile(`(?m)^NODES\s*=\s*((?:[^\n]*\\\n)*[^\n]*)$`)
	// chutney's template identifiers are [a-z0-9:_/.-]+, case-insensitive:
	// "$ip:5000" would name the variable "ip:5000".
	reTmplVar = regexp.MustCompile(`\$(\$|\{([^}]*)\}|([A-Za-z0-9:_/.-]+)|)`)
)

func parseChutneyNetwork(t *testing.T, path string) *chutneyNetwork {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	net := &chutneyNetwork{text: string(raw), consts: map[string]string{}}
	code := stripPythonComments(string(raw))
	for _, m := range reConst.FindAllStringSubmatch(code, -1) {
		net.consts[m[1]] = strings.Trim(m[2], `"`)
	}
	defs := map[string]*chutneyNodeDef{}
	for _, loc := range reNodeStart.FindAllStringSubmatchIndex(code, -1) {
		name := code[loc[2]:loc[3]]
		// Find the closing parenthesis of Node(.
		depth, end := 1, -1
		for i := loc[1]; i < len(code) && end < 0; i++ {
			switch code[i] {
			case '(':
				depth++
			case ')':
				if depth--; depth == 0 {
					end = i
				}
			}
		}
		if end < 0 {
			t.Fatalf("%s: Node( of %s is never closed", path, name)
		}
		def := &chutneyNodeDef{name: name, kwargs: map[string]string{}}
		for _, arg := range splitTopLevel(code[loc[1]:end]) {
			k, v, ok := strings.Cut(strings.TrimSpace(arg), "=")
			if !ok {
				t.Fatalf("%s: Node %s: argument %q is not keyword=value", path, name, arg)
			}
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			if c, ok := net.consts[v]; ok {
				v = c
			}
			def.kwargs[k] = strings.Trim(v, `"`)
		}
		defs[name] = def
	}
	groups := map[string][]*chutneyNodeDef{}
	for _, m := range reGetN.FindAllStringSubmatch(code, -1) {
		def, ok := defs[m[2]]
		if !ok {
			t.Fatalf("%s: %s = %s.getN(...): %s is not a Node(...) definition", path, m[1], m[2], m[2])
		}
		n, _ := strconv.Atoi(m[3])
		for range n {
			groups[m[1]] = append(groups[m[1]], def)
		}
	}
	nm := reNodes.FindStringSubmatch(code)
	if nm == nil {
		t.Fatalf("%s: no NODES = ... assignment", path)
	}
	for _, term := range strings.Split(strings.ReplaceAll(nm[1], "\\\n", " "), "+") {
		term = strings.TrimSpace(term)
		g, ok := groups[term]
		if !ok {
			t.Fatalf("%s: NODES term %q is not a NAME = NodeDef.getN(N) list", path, term)
		}
		for _, def := range g {
			net.nodes = append(net.nodes, chutneyNode{num: len(net.nodes), def: def})
		}
	}
	if !regexp.MustCompile(`(?m)^ConfigureNodes\(NODES\)\s*$`).MatchString(code) {
		t.Errorf("%s: no ConfigureNodes(NODES)", path)
	}
	return net
}

func (net *chutneyNetwork) byTorrc(torrc string) []chutneyNode {
	var out []chutneyNode
	for _, n := range net.nodes {
		if n.torrc() == torrc {
			out = append(out, n)
		}
	}
	return out
}

// templateRefs returns the variables and includes a template uses, following
// includes into our own templates (stock ones are chutney's business).
func templateRefs(t *testing.T, name string, vars, includes map[string]bool) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(chutneyTemplatesDir, name))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range reTmplVar.FindAllStringSubmatch(string(raw), -1) {
		switch {
		case m[1] == "$":
			// $$ is a literal $
		case m[2] != "" && strings.HasPrefix(m[2], "include:"):
			inc := strings.TrimPrefix(m[2], "include:")
			includes[inc] = true
			if strings.HasPrefix(inc, "relaybench-") {
				templateRefs(t, inc, vars, includes)
			}
		case m[2] != "":
			vars[m[2]] = true
		case m[3] != "":
			vars[m[3]] = true
		default:
			t.Errorf("%s: a lone $ (chutney substitutes every $, comments included; write $$)", name)
		}
	}
}

func TestChutneyFilesNetwork(t *testing.T) {
	net := parseChutneyNetwork(t, chutneyNetworkFile)

	var auths, exits, middles []chutneyNode
	for _, n := range net.nodes {
		switch {
		case n.is("authority"):
			auths = append(auths, n)
		case n.is("exit"):
			exits = append(exits, n)
		case n.is("relay") && n.torrc() == "relay-non-exit.tmpl":
			middles = append(middles, n)
		}
		if n.def.kwargs["tag"] == "" || n.torrc() == "" {
			t.Errorf("node %d (%s): needs tag= and torrc=", n.num, n.def.name)
		}
		if strings.HasPrefix(n.def.kwargs["tag"], "h") {
			t.Errorf("node %d: tag %q starts with h, which chutney treats as an onion service", n.num, n.def.kwargs["tag"])
		}
	}
	if len(auths) != 3 || len(exits) != 1 || len(middles) != 1 {
		t.Errorf("want 3 authorities, 1 exit, 1 middle relay; got %d, %d, %d", len(auths), len(exits), len(middles))
	}
	for _, n := range append(auths, exits...) {
		if !n.is("relay") {
			t.Errorf("node %d (%s): authorities and exits need relay=1", n.num, n.def.name)
		}
	}

	targets := net.byTorrc("relaybench-target.tmpl")
	if len(targets) != 1 {
		t.Fatalf("want exactly 1 node with torrc relaybench-target.tmpl, got %d", len(targets))
	}
	target := targets[0]
	if !target.is("relay") || target.is("exit") || target.is("authority") || target.is("bridge") {
		t.Errorf("the target must be relay=1 and no exit, authority or bridge: %v", target.def.kwargs)
	}

	clients := map[string]chutneyNode{}
	for _, tmpl := range []string{"relaybench-bridge-client.tmpl", "relaybench-entry-client.tmpl", "relaybench-middle-client.tmpl"} {
		got := net.byTorrc(tmpl)
		if len(got) != 1 {
			t.Errorf("want exactly 1 client with torrc %s, got %d", tmpl, len(got))
			continue
		}
		if !got[0].is("client") || !strings.HasPrefix(got[0].def.kwargs["tag"], "c") {
			t.Errorf("%s node: want client=1 and a tag starting with c (chutney verify's client test), got %v", tmpl, got[0].def.kwargs)
		}
		clients[tmpl] = got[0]
	}

	// Every torrc names a stock template or one of ours.
	for _, n := range net.nodes {
		if stockChutneyTemplates[n.torrc()] {
			continue
		}
		if _, err := os.Stat(filepath.Join(chutneyTemplatesDir, n.torrc())); err != nil {
			t.Errorf("node %d: torrc %q is neither a stock chutney template nor in %s/", n.num, n.torrc(), chutneyTemplatesDir)
		}
	}

	// The *_NUM constants the file computes ports and nicknames from must be
	// the positions chutney numbers the nodes by.
	wantNum := map[string]int{
		"EXIT_NUM":          -1,
		"MIDDLE_NUM":        -1,
		"TARGET_NUM":        target.num,
		"BRIDGE_CLIENT_NUM": clients["relaybench-bridge-client.tmpl"].num,
		"ENTRY_CLIENT_NUM":  clients["relaybench-entry-client.tmpl"].num,
		"MIDDLE_CLIENT_NUM": clients["relaybench-middle-client.tmpl"].num,
	}
	if len(exits) == 1 {
		wantNum["EXIT_NUM"] = exits[0].num
	}
	if len(middles) == 1 {
		wantNum["MIDDLE_NUM"] = middles[0].num
	}
	for name, want := range wantNum {
		if got := net.consts[name]; got != strconv.Itoa(want) {
			t.Errorf("%s = %q in %s, but that node is number %d in NODES", name, got, chutneyNetworkFile, want)
		}
	}
	if tag := net.consts["TARGET_TAG"]; tag != target.def.kwargs["tag"] {
		t.Errorf("TARGET_TAG %q is not the target's tag %q", tag, target.def.kwargs["tag"])
	}

	// Every variable a node's template uses is chutney's or a keyword the
	// node passes (else chutney configure fails with a KeyError).
	for _, n := range net.nodes {
		if stockChutneyTemplates[n.torrc()] {
			continue
		}
		vars, includes := map[string]bool{}, map[string]bool{}
		templateRefs(t, n.torrc(), vars, includes)
		for v := range vars {
			if _, ok := n.def.kwargs[v]; !ok && !chutneyEnvVars[v] {
				t.Errorf("node %d (%s) uses %s, whose template needs ${%s}: neither chutney nor the node's Node(...) defines it", n.num, n.def.name, n.torrc(), v)
			}
		}
	}

	// The header documents the numbers a developer needs; keep it true.
	base, err := strconv.Atoi(net.consts["METRICSPORT_BASE"])
	if err != nil {
		t.Fatalf("METRICSPORT_BASE: %v", err)
	}
	want := []string{
		target.nick(),
		fmt.Sprintf("ORPort %d", chutneyORPortBase+target.num),
		fmt.Sprintf("MetricsPort 127.0.0.1:%d", base+target.num),
		fmt.Sprintf("Bridge 127.0.0.1:%d", chutneyORPortBase+target.num),
		fmt.Sprintf("http://127.0.0.1:%d/metrics", base+target.num),
	}
	for _, c := range clients {
		want = append(want, c.nick(),
			fmt.Sprintf("SocksPort 127.0.0.1:%d", chutneySocksPortBase+c.num),
			fmt.Sprintf("MetricsPort 127.0.0.1:%d", base+c.num))
	}
	for _, w := range want {
		if !strings.Contains(net.text, w) {
			t.Errorf("the header of %s does not mention %q", chutneyNetworkFile, w)
		}
	}
}

// The chutney network's authorities vote what the embedded network's do,
// and guarantee the same flags.
func TestChutneyFilesConsensusParams(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(chutneyTemplatesDir, "relaybench-authority.tmpl"))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for line := range strings.SplitSeq(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "ConsensusParams "); ok {
			lines = append(lines, v)
		}
	}
	if want := consensusParamsLine(LiveConsensusParams); len(lines) != 1 || lines[0] != want {
		t.Errorf("relaybench-authority.tmpl votes %q, want one line with LiveConsensusParams:\nConsensusParams %s", lines, want)
	}
	for _, o := range authorityFlagGuarantees {
		if !slices.Contains(strings.Split(string(raw), "\n"), o.String()) {
			t.Errorf("relaybench-authority.tmpl lacks the line %q of the embedded network's authorities", o)
		}
	}
	net := parseChutneyNetwork(t, chutneyNetworkFile)
	for _, n := range net.nodes {
		if n.is("authority") && n.torrc() != "relaybench-authority.tmpl" {
			t.Errorf("authority %d uses %s, which votes no consensus parameters", n.num, n.torrc())
		}
	}
}

func TestChutneyFilesTemplates(t *testing.T) {
	ours, err := filepath.Glob(filepath.Join(chutneyTemplatesDir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ours) == 0 {
		t.Fatalf("no templates in %s/", chutneyTemplatesDir)
	}
	net := parseChutneyNetwork(t, chutneyNetworkFile)
	for _, path := range ours {
		name := filepath.Base(path)
		if !regexp.MustCompile(`^relaybench-[a-z0-9-]+\.tmpl$`).MatchString(name) {
			t.Errorf("%s: our templates are named relaybench-*.tmpl so they cannot shadow chutney's", name)
		}
		if len(net.byTorrc(name)) == 0 {
			t.Errorf("%s: no node of %s uses it", name, chutneyNetworkFile)
		}
		vars, includes := map[string]bool{}, map[string]bool{}
		templateRefs(t, name, vars, includes)
		if len(includes) == 0 {
			t.Errorf("%s: includes no stock chutney template (it should build on client.tmpl or relay-non-exit.tmpl)", name)
		}
		for inc := range includes {
			if stockChutneyTemplates[inc] {
				continue
			}
			if _, err := os.Stat(filepath.Join(chutneyTemplatesDir, inc)); err != nil {
				t.Errorf("%s: ${include:%s} is neither a stock chutney template nor one of ours", name, inc)
			}
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(raw), "UseMicrodescriptors 0") || includes["bridgeclient.tmpl"] {
			t.Errorf("%s: a client using a published relay as bridge must keep microdescriptors (with UseMicrodescriptors 0 a bridge client of tor 0.4.9.11 never builds circuits)", name)
		}
	}
}
