package scenarios

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary bytes to Parse. Its seed corpus (the example
// files, every testdata/*.yaml and a few odd inputs) runs as part of
// `go test`. Properties: no panic; failures are *Error values naming the
// file; successes validate, and survive a Marshal/Parse round trip.
func FuzzParse(f *testing.F) {
	for _, pattern := range []string{"*.yaml", "testdata/*.yaml"} {
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
	} {
		f.Add([]byte(odd))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data, "fuzz.yaml")
		if err != nil {
			if s != nil {
				t.Fatalf("Parse returned a scenario and an error")
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error is %T, want *Error: %v", err, err)
			}
			if !strings.HasPrefix(err.Error(), "scenario fuzz.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("Parse accepted a scenario that Validate rejects: %v", err)
		}
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
