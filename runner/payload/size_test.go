package payload

import (
	"strings"
	"testing"
)

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"0", 0},
		{"1", 1},
		{"1048576", 1 << 20},
		{"17B", 17},
		{"512KiB", 512 << 10},
		{"10MiB", 10 << 20},
		{"10mib", 10 << 20},
		{"1GiB", 1 << 30},
		{"2TiB", 2 << 40},
		{"500kB", 500_000},
		{"500KB", 500_000},
		{"10MB", 10_000_000},
		{"1GB", 1_000_000_000},
		{"3TB", 3_000_000_000_000},
		{"9223372036854775807", 1<<63 - 1},
		{"8388607TiB", 8388607 << 40},
		// The spellings a scenario's payload.size accepts (units.ParseBytes).
		{" 10", 10},
		{"1.5MiB", 1536 << 10},
		{"10 MiB", 10 << 20},
		{"2 MBytes", 2 << 20},
	} {
		got, err := ParseSize(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}

func TestParseSizeRejects(t *testing.T) {
	for _, tc := range []struct {
		in, hint string // hint: a part of the message that tells the user what to do
	}{
		{"", "want a non-negative number with an optional unit"},
		{"-1", "want a non-negative number"},
		{"MiB", "want a non-negative number"},
		{"10M", "a bare K or M is ambiguous"},
		{"10k", "KiB, MiB, GiB, TiB (1024^n)"},
		{"10PiB", "B, kB, MB, GB, TB (1000^n)"},
		{"10MiBx", "e.g. 1048576, 512KiB or 10MB"},
		{"9223372036854775808", "does not fit"},
		{"8388608TiB", "does not fit"},
	} {
		got, err := ParseSize(tc.in)
		if err == nil {
			t.Errorf("ParseSize(%q) = %d, want an error", tc.in, got)
			continue
		}
		if !strings.Contains(err.Error(), tc.hint) {
			t.Errorf("ParseSize(%q) error %q does not contain %q", tc.in, err, tc.hint)
		}
	}
}
