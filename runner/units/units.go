// Package units owns relaybench's units and their scaling, as
// golang.org/x/perf/benchunit does for benchmarks: the byte multiples
// (binary KiB..TiB, decimal kB..TB), bytes and bytes per second in the MiB
// and MB every report prints, byte sizes in words, and durations in
// milliseconds. Raw data and summary.json keep bytes, bytes per second and
// nanoseconds or seconds; only what is shown to people is scaled, here.
//
// It is a leaf: it imports nothing of relaybench's.
package units

import (
	"fmt"
	"strconv"
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
