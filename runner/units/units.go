// Package units owns relaybench's units and their scaling, as
// golang.org/x/perf/benchunit does for benchmarks: the byte multiples
// (binary KiB..TiB, decimal kB..TB), reading byte sizes and percentages written
// by people (ParseBytes, ParsePercent), bytes and bytes per second in the MiB and MB every report
// prints, byte sizes in words, and durations in milliseconds. Raw data and summary.json keep bytes, bytes per second and
// nanoseconds or seconds; only what is shown to people is scaled, here.
//
// It is a leaf: it imports nothing of relaybench's.
package units

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Binary (IEC) byte multiples.
const (
	KiB = 1 << 10
	MiB = 1 << 20
	GiB = 1 << 30
	TiB = 1 << 40
)

// Decimal (SI) byte multiples; go test's MB/s is 10^6 bytes a second.
const (
	KB = 1e3
	MB = 1e6
	GB = 1e9
	TB = 1e12
)

// byteUnits maps lower-case unit spellings to their size in bytes.
//
// IEC units (KiB, MiB, ...) are powers of 1024 and SI units (kB, MB, ...)
// are powers of 1000: both are accepted because tor's options and people's
// habits mix them, but bare K/M/G/T are not, because in a benchmark the 5-7%
// difference between 10^n and 2^n is exactly what one is trying to measure.
// The spelled-out units are tor's (torrc BandwidthRate etc.):
// KBytes/MBytes/GBytes are powers of 1024 and tor's bit units are
// kbits = 1024 bits = 128 bytes, Mbits = 2^20 bits, and so on.
// Note that, unlike tor, "MB" here means 10^6 bytes.
var byteUnits = map[string]int64{
	"": 1, "b": 1, "byte": 1, "bytes": 1,

	"kib": KiB, "mib": MiB, "gib": GiB, "tib": TiB,

	"kb": KB, "mb": MB, "gb": GB, "tb": TB,

	"kbyte": KiB, "kbytes": KiB, "kilobyte": KiB, "kilobytes": KiB,
	"mbyte": MiB, "mbytes": MiB, "megabyte": MiB, "megabytes": MiB,
	"gbyte": GiB, "gbytes": GiB, "gigabyte": GiB, "gigabytes": GiB,
	"tbyte": TiB, "tbytes": TiB, "terabyte": TiB, "terabytes": TiB,

	"kbit": KiB / 8, "kbits": KiB / 8, "kilobit": KiB / 8, "kilobits": KiB / 8,
	"mbit": MiB / 8, "mbits": MiB / 8, "megabit": MiB / 8, "megabits": MiB / 8,
	"gbit": GiB / 8, "gbits": GiB / 8, "gigabit": GiB / 8, "gigabits": GiB / 8,
	"tbit": TiB / 8, "tbits": TiB / 8, "terabit": TiB / 8, "terabits": TiB / 8,
}

var byteSizeRE = regexp.MustCompile(`^([0-9]+(?:\.[0-9]*)?|\.[0-9]+) *([A-Za-z]*)$`)

// The errors of ParseBytes; callers turn them into messages that name the
// kind of value they expected (a byte size, a rate, a payload size).
var (
	ErrNotBytes = errors.New("not a byte size")
	ErrTooLarge = errors.New("too large")
)

// ParseBytes parses a byte size: a non-negative number with an optional
// unit: a plain number of bytes ("1048576"), IEC units ("512KiB", "10MiB",
// "1GiB"), SI units ("10MB" = 10,000,000 bytes), and tor's torrc units
// ("2 MBytes", "512 KBytes", "8 Mbits"). Units are case-insensitive, a
// space may separate number and unit, and fractions are allowed
// ("1.5MiB"); the result is rounded to whole bytes. It fails with
// ErrNotBytes or ErrTooLarge (more than 2^63-1 bytes).
func ParseBytes(s string) (int64, error) {
	m := byteSizeRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, ErrNotBytes
	}
	mult, ok := byteUnits[strings.ToLower(m[2])]
	if !ok {
		return 0, ErrNotBytes
	}
	if !strings.Contains(m[1], ".") {
		n, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil || n > math.MaxInt64/mult {
			return 0, ErrTooLarge
		}
		return n * mult, nil
	}
	f, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, ErrNotBytes
	}
	v := math.Round(f * float64(mult))
	// float64(math.MaxInt64) rounds up to 2^63, which does not fit.
	if v >= float64(math.MaxInt64) {
		return 0, ErrTooLarge
	}
	return int64(v), nil
}

// InMiB returns n bytes (or bytes per second) in MiB (MiB/s).
func InMiB[T int64 | float64](n T) float64 { return float64(n) / MiB }

// InMB returns n bytes (or bytes per second) in MB (MB/s, 10^6 bytes).
func InMB(n float64) float64 { return n / MB }

// MiBps formats bytes per second as MiB/s with two decimals: "1.50 MiB/s".
func MiBps(bytesPerSecond float64) string {
	return fmt.Sprintf("%.2f MiB/s", InMiB(bytesPerSecond))
}

// Bytes formats a size in binary units, whole when it is whole and with one
// decimal otherwise: "8 GiB", "23.5 GiB", "300 MiB", "1000 bytes".
func Bytes(n int64) string {
	switch {
	case n >= GiB && n%GiB == 0:
		return strconv.FormatInt(n/GiB, 10) + " GiB"
	case n >= GiB:
		return strconv.FormatFloat(float64(n)/GiB, 'f', 1, 64) + " GiB"
	case n >= MiB && n%MiB == 0:
		return strconv.FormatInt(n/MiB, 10) + " MiB"
	case n >= MiB:
		return strconv.FormatFloat(float64(n)/MiB, 'f', 1, 64) + " MiB"
	default:
		return strconv.FormatInt(n, 10) + " bytes"
	}
}

// Millis returns d in milliseconds.
func Millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// ParsePercent reads a percentage written by people: "10" or "10%" as
// 10. It must be a finite number, not negative (a threshold).
func ParsePercent(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "%")), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q is not a percentage (give a number such as 10 or 10%%)", s)
	}
	if v < 0 {
		return 0, fmt.Errorf("%q is negative: give how much worse a change must be to fail, such as 10", s)
	}
	return v, nil
}
