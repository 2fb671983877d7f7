package scenarios

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// FuzzLoad feeds arbitrary bytes to what Load does after reading the file.
// Its seed corpus is every example and testdata file, the malformed-scenario
// corpus (stored, and the generated kinds in small sizes) and a few odd
// inputs; it runs as part of `go test`. Properties: no panic; a failure is one or more *Error values
// naming the file; a success validates, survives a Marshal/Parse round trip,
// and decodes exactly as yaml.v3's own strict decoder would.
func FuzzLoad(f *testing.F) {
	for _, pattern := range []string{"*.yaml", "testdata/*.yaml", "testdata/malformed/*.yaml"} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	// The generated corpus in small sizes: big seeds make the fuzzer spend
	// its time minimizing (each step reruns the target), and a small input
	// already crosses every cap.
	const base = "name: t\ntarget: {kind: testnet, role: bridge}\nworkload: {kind: bulk}\nramp: {steps: [1]}\n"
	var keys, chain strings.Builder
	for i := range 200 {
		fmt.Fprintf(&keys, "k%d: 1\n", i)
	}
	chain.WriteString("x0: &m0 {a: b}\n")
	for i := 1; i < 120; i++ {
		fmt.Fprintf(&chain, "x%d: &m%d {<<: *m%d}\n", i, i, i-1)
	}
	for _, small := range []string{
		base + "description: " + strings.Repeat("[", 40) + strings.Repeat("]", 40) + "\n",
		base + "description: " + strings.Repeat("{a: ", 40) + "b" + strings.Repeat("}", 40) + "\n",
		base + "description:\n  " + strings.Repeat("- ", 40) + "x\n",
		base + keys.String(),
		base + "description: &n x\nsampling: {metrics_urls: [" + strings.Repeat("*n, ", 120) + "*n]}\n",
		"name: t\ntarget: {kind: testnet, role: bridge}\nworkload: {kind: bulk}\nramp: {steps: [" + strings.Repeat("x, ", 40) + "x]}\n",
		base + strings.Repeat("---\n", 50),
		chain.String(),
		strings.Repeat("description: padding\n", 50),
	} {
		f.Add([]byte(small))
	}
	for _, c := range generatedMalformed() {
		if len(c.data) <= 4<<10 {
			f.Add(c.data)
		}
	}
	for _, odd := range []string{
		"",
		"---\n",
		"~\n",
		"[]\n",
		"name: [\n",
		"name: &a x\ndescription: *a\n",
		"<<: {name: x}\n",
		"a: &a [*a]\n",
		"name: t\ntarget: {kind: testnet, role: bridge}\nworkload: {kind: bulk}\nramp: {steps: [1, 2]}\nvariants: [{name: a, repetitions: 9223372036854775807}, {name: b, repetitions: 9223372036854775807}]\n",
		"name: t\ntarget: {kind: testnet, role: bridge}\nworkload: {kind: bulk}\nramp: {steps: [1], step_duration: 2562047h}\n",
		"name: t\ntarget: {kind: testnet, role: bridge}\nworkload: {kind: bulk}\nramp: {steps: [1]}\npayload: {size: 8191.99999999999 TiB}\nlimits: {max_bytes: 8191.99999999999 TiB}\n",
		"name: t\ntarget: {kind: testnet, role: bridge, testnet: {torrc: {ConnLimit: 99999999999999999999}, nofile: 1}}\n",
		"name: t\ntarget: {kind: relay, role: bridge, relay: {bridge_line: \"[::1]:443 0123456789ABCDEF0123456789ABCDEF01234567\"}}\n",
		"name: t\nonset: {saturation_gain: .nan, latency_factor: -.inf}\n",
		"\xff\xfe\x00n\x00a\x00m\x00e\x00",
		"name: \"\\u0000\"\n",
		"name: t\ntarget: &t {kind: testnet, role: bridge}\nworkload: {kind: bulk}\nramp: {<<: {steps: [1, 2]}, step_duration: 10s}\nvariants: [{name: a, torrc: &c {NumCPUs: \"2\"}}, {name: b, torrc: {<<: *c, ConnLimit: \"2000\"}, nofile: 4096}]\n",
	} {
		f.Add([]byte(odd))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data, "fuzz.yaml")
		if err != nil {
			if s != nil {
				t.Fatalf("Parse returned a scenario and an error")
			}
			problems := Problems(err)
			if len(problems) == 0 {
				t.Fatalf("error is %T, holding no *Error: %v", err, err)
			}
			for _, p := range problems {
				if p.File != "fuzz.yaml" || !strings.HasPrefix(p.Error(), "scenario fuzz.yaml") {
					t.Fatalf("problem does not name the file: %+v", p)
				}
			}
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("Parse accepted a scenario that Validate rejects: %v", err)
		}
		checkDecodesAsYAMLv3(t, data)
		out, err := s.Marshal()
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		back, err := Parse(out, "resolved.yaml")
		if err != nil {
			t.Fatalf("Parse(Marshal(s)): %v\ninput:\n%s\nmarshalled:\n%s", err, data, out)
		}
		if !reflect.DeepEqual(s, back) {
			t.Fatalf("round trip changed the scenario\nbefore: %+v\nafter:  %+v\nmarshalled:\n%s", s, back, out)
		}
	})
}

// checkDecodesAsYAMLv3 asserts that what the scenario decoder accepts,
// yaml.v3's strict decoder (KnownFields) accepts too, into the same value:
// the hand-walked decoder keeps yaml.v3's semantics (nulls, merges,
// aliases, scalar resolution). The converse does not hold on purpose: the
// scenario decoder refuses fractions for whole numbers, empty list items,
// control characters, deep nesting and many aliases, which yaml.v3 lets
// through (truncating, dropping).
func checkDecodesAsYAMLv3(t *testing.T, data []byte) {
	t.Helper()
	ours, _, err := decode(data, "fuzz.yaml")
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	theirs := defaultScenario()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(theirs); err != nil {
		t.Fatalf("yaml.v3 refuses what the scenario decoder accepts: %v\ninput:\n%s", err, data)
	}
	if !reflect.DeepEqual(ours, theirs) {
		t.Fatalf("the scenario decoder and yaml.v3 disagree\n ours:   %+v\n yaml.v3: %+v\ninput:\n%s", ours, theirs, data)
	}
}

// TestDecodesAsYAMLv3 runs the differential check on every file that
// decodes, merges and aliases included.
func TestDecodesAsYAMLv3(t *testing.T) {
	files, err := filepath.Glob("testdata/valid-*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	builtin, _ := filepath.Glob("*.yaml")
	for _, file := range append(files, builtin...) {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(file, func(t *testing.T) { checkDecodesAsYAMLv3(t, data) })
	}
	merges := `name: t
target: {kind: testnet, role: bridge, testnet: {torrc: &base {NumCPUs: "2", ConnLimit: 2000}}}
workload: &w {kind: bulk, timeout: 30s}
ramp:
  <<: [{steps: [1, 2], step_duration: 10s}, {steps: [9], warmup: 1s}]
  warmup: 2s
variants:
  - &v {name: a, torrc: {<<: *base, ConnLimit: "3000"}, setup: ["true"]}
  - {<<: *v, name: b, repetitions: 2}
  - name: c
    torrc: *base
    teardown: []
thresholds: {max_error_rate: ~, min_capacity: 1MiB/s}
clients: 3.0
`
	t.Run("merges and aliases", func(t *testing.T) { checkDecodesAsYAMLv3(t, []byte(merges)) })
}
