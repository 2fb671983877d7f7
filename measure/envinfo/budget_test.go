package envinfo

import (
	"strings"
	"testing"
)

func TestComputeMemoryBudget(t *testing.T) {
	const GiB, MiB = int64(1) << 30, int64(1) << 20
	for _, tc := range []struct {
		name       string
		configured int64
		ram        int64
		server     bool
		want       int64
		rule       string
	}{
		// 40 % of 24 GiB is 9.6 GiB: above the 8 GiB cap.
		{"24 GiB capped", 0, 24 * GiB, true, 8 * GiB, "40% of 24 GiB RAM (RAM >= 8 GiB) = 9.6 GiB, capped at 8 GiB"},
		// 12 GiB: 40 %, with tor's integer arithmetic (ram / 5) * 2.
		{"12 GiB 40%", 0, 12 * GiB, true, (12 * GiB / 5) * 2, "40% of 12 GiB RAM (RAM >= 8 GiB)"},
		// Exactly 8 GiB is "very large": 3.2 GiB, less than 75 % of a bit less.
		{"8 GiB 40%", 0, 8 * GiB, true, 3435973836, "40% of 8 GiB RAM (RAM >= 8 GiB)"},
		{"just under 8 GiB 75%", 0, 8*GiB - MiB, true, (8*GiB - MiB) / 4 * 3, "75% of 8.0 GiB RAM (RAM < 8 GiB)"},
		{"4 GiB 75%", 0, 4 * GiB, false, 3 * GiB, "75% of 4 GiB RAM (RAM < 8 GiB)"},
		{"tiny RAM floor", 0, 300 * MiB, true, 256 * MiB, "75% of 300 MiB RAM (RAM < 8 GiB) = 225 MiB, raised to the 256 MiB minimum"},
		{"RAM unknown", 0, 0, true, 8 * GiB, "MaxMemInQueues unset and RAM unknown: tor's fallback of 8 GiB"},
		{"configured", 300 * MiB, 24 * GiB, true, 300 * MiB, "MaxMemInQueues 300 MiB (configured)"},
		{"configured above the cap", 12 * GiB, 4 * GiB, true, 12 * GiB, "MaxMemInQueues 12 GiB (configured)"},
		{"configured tiny on a relay", 10 * MiB, 24 * GiB, true, 64 * MiB, "MaxMemInQueues 10 MiB (configured), raised to tor's 64 MiB minimum for relays"},
		{"configured tiny on a client", 10 * MiB, 24 * GiB, false, 10 * MiB, "MaxMemInQueues 10 MiB (configured)"},
	} {
		b := ComputeMemoryBudget(tc.configured, tc.ram, tc.server)
		if b.Bytes != tc.want || b.Rule != tc.rule {
			t.Errorf("%s: %d %q, want %d %q", tc.name, b.Bytes, b.Rule, tc.want, tc.rule)
		}
		if b.Source != "computed" || b.ConfiguredBytes != tc.configured {
			t.Errorf("%s: source %q configured %d", tc.name, b.Source, b.ConfiguredBytes)
		}
		if b.LowThresholdBytes != tc.want/4*3 || b.OOMThresholdBytes != tc.want {
			t.Errorf("%s: thresholds %d %d", tc.name, b.LowThresholdBytes, b.OOMThresholdBytes)
		}
	}
}

func TestParseMemUnit(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		err  string
	}{
		{"314572800", 314572800, ""},
		{"300 MB", 300 << 20, ""},
		{"300MB", 300 << 20, ""},
		{"8 GBytes", 8 << 30, ""},
		{"2 mbytes", 2 << 20, ""},
		{"1 TB", 1 << 40, ""},
		{"8 Mbits", 1 << 20, ""},
		{"512 KB", 512 << 10, ""},
		{"", 0, ""},
		{"lots", 0, "does not start with a number"},
		{"3 parsecs", 0, "unknown unit"},
		{"99999999999 TB", 0, "overflows"},
	} {
		got, err := ParseMemUnit(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: err = %v, want %q", tc.in, err, tc.err)
			}
		} else if err != nil || got != tc.want {
			t.Errorf("%q: %d %v, want %d", tc.in, got, err, tc.want)
		}
	}
}

func TestParseTorVersion(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Tor version 0.4.9.11.\nThis build of Tor is covered by the GNU General Public License\n", "0.4.9.11"},
		{"Tor version 0.4.9.0-alpha-dev (git-0123456789abcdef).\n", "0.4.9.0-alpha-dev"},
		{"Nov 23 12:00:00.000 [notice] Tor 0.4.8.12 running\nTor version 0.4.8.12.", "0.4.8.12"},
	} {
		if got, err := ParseTorVersion(tc.in); err != nil || got != tc.want {
			t.Errorf("%q: %q %v, want %q", tc.in, got, err, tc.want)
		}
	}
	if _, err := ParseTorVersion("bash: tor: command not found\n"); err == nil {
		t.Error("no error for output without a version")
	}
}
