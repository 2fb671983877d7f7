package payload

import (
	"fmt"

	"github.com/relaybench/relaybench/runner/units"
)

// ParseSize parses a payload size as units.ParseBytes reads byte sizes
// (and a scenario's payload.size is written): "1048576", "512KiB", "10MiB",
// "1.5MiB" (binary, 1024^n), "500kB", "10MB" (decimal, 1000^n), "2 MBytes"
// (tor's units). Ambiguous bare units ("10M") are rejected with an error
// that says what to write instead.
func ParseSize(s string) (int64, error) {
	n, err := units.ParseBytes(s)
	switch err {
	case nil:
		return n, nil
	case units.ErrTooLarge:
		return 0, fmt.Errorf("size %q does not fit in 63 bits: use a smaller size", s)
	default:
		return 0, fmt.Errorf("size %q: want a non-negative number with an optional unit, e.g. 1048576, 512KiB or 10MB: B, kB, MB, GB, TB (1000^n) or KiB, MiB, GiB, TiB (1024^n); a bare K or M is ambiguous", s)
	}
}
