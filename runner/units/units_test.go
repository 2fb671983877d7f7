package units

import (
	"testing"
	"time"
)

func TestScaling(t *testing.T) {
	if got := InMiB(int64(3 * MiB / 2)); got != 1.5 {
		t.Errorf("InMiB(1.5 MiB) = %v", got)
	}
	if got := InMB(2.5e6); got != 2.5 {
		t.Errorf("InMB(2.5e6) = %v", got)
	}
	if got := MiBps(1572864); got != "1.50 MiB/s" {
		t.Errorf("MiBps = %q", got)
	}
	if got := Millis(1500 * time.Microsecond); got != 1.5 {
		t.Errorf("Millis(1.5ms) = %v", got)
	}
}

func TestBytes(t *testing.T) {
	for n, want := range map[int64]string{
		8 * GiB:        "8 GiB",
		GiB * 47 / 2:   "23.5 GiB",
		24683620 * KiB: "23.5 GiB",
		300 * MiB:      "300 MiB",
		MiB + MiB/4:    "1.2 MiB", // 1.25 rounds to even
		1000:           "1000 bytes",
		0:              "0 bytes",
		GiB/4 + 0:      "256 MiB",
		64*MiB + 1<<19: "64.5 MiB",
	} {
		if got := Bytes(n); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestParseBytes: the one byte-size grammar (scenarios' ByteSize and Rate
// and the payload's sizes read through it; their tests cover the
// spellings): the unit tables' values, and which error says what.
func TestParseBytes(t *testing.T) {
	for in, want := range map[string]int64{"10MiB": 10 * MiB, "10MB": 10 * MB, "2 MBytes": 2 * MiB, "8 Mbits": MiB, "1.5KiB": 1536} {
		if got, err := ParseBytes(in); err != nil || got != want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for in, want := range map[string]error{"10M": ErrNotBytes, "-1": ErrNotBytes, "8388608TiB": ErrTooLarge, "8388608.0 TiB": ErrTooLarge} {
		if _, err := ParseBytes(in); err != want {
			t.Errorf("ParseBytes(%q) error %v, want %v", in, err, want)
		}
	}
}

func TestParsePercent(t *testing.T) {
	for in, want := range map[string]float64{"10": 10, "10%": 10, " 2.5 % ": 2.5, "0": 0} {
		if got, err := ParsePercent(in); err != nil || got != want {
			t.Errorf("ParsePercent(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "x", "NaN", "Inf", "-1", "10%%"} {
		if _, err := ParsePercent(in); err == nil {
			t.Errorf("ParsePercent(%q) succeeded", in)
		}
	}
}
