package payload

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/relaybench/relaybench/runner/units"
)

// sizeUnits maps a lower-cased unit suffix to its multiplier. Decimal (SI)
// and binary (IEC) units are both accepted because tor's own options and
// people's habits mix them; bare K/M/G are not, because in a benchmark the 5-7%
// difference between 10^n and 2^n is exactly what one is trying to measure.
var sizeUnits = map[string]int64{
	"":    1,
	"b":   1,
	"kb":  units.KB,
	"mb":  units.MB,
	"gb":  units.GB,
	"tb":  units.TB,
	"kib": units.KiB,
	"mib": units.MiB,
	"gib": units.GiB,
	"tib": units.TiB,
}

// ParseSize parses a payload size: a non-negative integer optionally followed
// by a unit, case-insensitive, with no space: "1048576", "512KiB", "10MiB",
// "1GiB" (binary, 1024^n) or "500kB", "10MB", "1GB" (decimal, 1000^n). "B"
// means bytes. Fractions ("1.5MiB") and ambiguous bare units ("10M") are
// rejected with an error that says what to write instead.
func ParseSize(s string) (int64, error) {
	digits := strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	if digits < 0 {
		digits = len(s)
	}
	num, unit := s[:digits], strings.ToLower(s[digits:])
	if num == "" {
		return 0, fmt.Errorf("size %q: want a non-negative integer with an optional unit, e.g. 1048576, 512KiB or 10MB", s)
	}
	mult, ok := sizeUnits[unit]
	if !ok {
		switch unit {
		case "k", "m", "g", "t":
			return 0, fmt.Errorf("size %q: unit %q is ambiguous: write %sB for 1000^n or %siB for 1024^n bytes", s, s[digits:], strings.ToUpper(unit), strings.ToUpper(unit))
		}
		if strings.HasPrefix(unit, ".") {
			return 0, fmt.Errorf("size %q: fractions are not supported: use a smaller unit, e.g. 1536KiB for 1.5MiB", s)
		}
		return 0, fmt.Errorf("size %q: unknown unit %q: use B, kB, MB, GB, TB (1000^n) or KiB, MiB, GiB, TiB (1024^n)", s, s[digits:])
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("size %q does not fit in 63 bits: use a smaller size", s)
	}
	return n * mult, nil
}
