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
