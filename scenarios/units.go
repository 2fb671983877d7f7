package scenarios

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/relaybench/relaybench/runner/units"
)

// Duration is a time span written the way time.ParseDuration reads it:
// "500ms", "30s", "1m30s", "2h". Negative durations are rejected.
// It marshals back to the same form (see String).
type Duration time.Duration

// ParseDuration parses s as a non-negative Duration.
func ParseDuration(s string) (Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%s is not a duration (use e.g. 500ms, 30s, 1m30s)", quote(s))
	}
	if d < 0 {
		return 0, fmt.Errorf("%s is negative: durations must be 0s or more", quote(s))
	}
	return Duration(d), nil
}

// String returns d in time.ParseDuration syntax without redundant zero
// components: "30s", "30m", "1h30m", "1m30s", "250ms".
func (d Duration) String() string {
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// MarshalText implements encoding.TextMarshaler (scenario YAML and JSON
// reports).
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler (scenario YAML, JSON,
// flags). Its error is the message alone: the scenario decoder knows the
// node and adds file, line and field.
func (d *Duration) UnmarshalText(b []byte) error { return parseInto(d, ParseDuration, b) }

// ByteSize is an amount of data in bytes. ParseByteSize lists the accepted
// spellings.
type ByteSize int64

// ParseByteSize parses a byte size as units.ParseBytes does: a plain number
// of bytes ("1048576"), IEC units ("512KiB", "10MiB", "1GiB"), SI units
// ("10MB" = 10,000,000 bytes), and tor's torrc units ("2 MBytes",
// "512 KBytes", "8 Mbits"). Units are case-insensitive, a space may separate
// number and unit, and fractions are allowed ("1.5MiB"); the result is
// rounded to whole bytes.
func ParseByteSize(s string) (ByteSize, error) {
	n, err := parseBytes(s, s, "a byte size", "64KiB, 10MiB, 2 MBytes")
	return ByteSize(n), err
}

// parseBytes reads the amount of bytes in text (s, or a part of it) with
// units.ParseBytes; its errors quote s and say what it should have been
// (kind, e.g. "a rate") with examples.
func parseBytes(s, text, kind, examples string) (int64, error) {
	n, err := units.ParseBytes(text)
	switch err {
	case nil:
		return n, nil
	case units.ErrTooLarge:
		return 0, fmt.Errorf("%s is too large for %s", quote(s), kind)
	default:
		return 0, fmt.Errorf("%s is not %s (use e.g. %s)", quote(s), kind, examples)
	}
}

var iecUnits = []struct {
	name string
	size int64
}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}}

// String returns a human form with IEC units and at most two decimals, e.g.
// "10MiB", "1.5MiB", "9.54MiB", "512B". It is exact whenever that is possible
// with two decimals; Marshal always is.
func (b ByteSize) String() string {
	abs := int64(b)
	sign := ""
	if abs < 0 {
		sign, abs = "-", -abs
	}
	for _, u := range iecUnits {
		if abs >= u.size {
			v := strconv.FormatFloat(float64(abs)/float64(u.size), 'f', 2, 64)
			v = strings.TrimRight(strings.TrimRight(v, "0"), ".")
			return sign + v + u.name
		}
	}
	return sign + strconv.FormatInt(abs, 10) + "B"
}

// exact returns the shortest spelling of b that parses back to exactly b:
// the human form if it is exact, else a whole number of some IEC or SI unit,
// else plain bytes.
func (b ByteSize) exact() string {
	if s := b.String(); b >= 0 {
		if v, err := units.ParseBytes(s); err == nil && v == int64(b) {
			return s
		}
	}
	best := strconv.FormatInt(int64(b), 10)
	for _, u := range exactUnits {
		if b != 0 && int64(b)%u.size == 0 {
			if s := strconv.FormatInt(int64(b)/u.size, 10) + u.name; len(s) < len(best) {
				best = s
			}
		}
	}
	return best
}

var exactUnits = []struct {
	name string
	size int64
}{
	{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10},
	{"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"kB", 1e3},
}

// MarshalText implements encoding.TextMarshaler; the result parses back exactly.
func (b ByteSize) MarshalText() ([]byte, error) { return []byte(b.exact()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (b *ByteSize) UnmarshalText(t []byte) error { return parseInto(b, ParseByteSize, t) }

// Rate is a data rate in bytes per second.
type Rate int64

// ParseRate parses a rate: any byte size accepted by ParseByteSize,
// optionally followed by "/s" ("1MiB/s", "512 KiB/s", "8 Mbits/s"). Without
// "/s" the value is per second, as in torrc's BandwidthRate ("2 MBytes").
func ParseRate(s string) (Rate, error) {
	t := strings.TrimSpace(s)
	if strings.HasSuffix(strings.ToLower(t), "/s") {
		t = t[:len(t)-2]
	}
	n, err := parseBytes(s, t, "a rate", "512KiB/s, 1MiB/s, 2 MBytes")
	return Rate(n), err
}

// String returns a human form such as "1MiB/s" or "1.5MiB/s".
func (r Rate) String() string { return ByteSize(r).String() + "/s" }

// MarshalText implements encoding.TextMarshaler; the result parses back exactly.
func (r Rate) MarshalText() ([]byte, error) { return []byte(ByteSize(r).exact() + "/s"), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (r *Rate) UnmarshalText(t []byte) error { return parseInto(r, ParseRate, t) }

// parseInto is the UnmarshalText of a unit: *dst is parse's value of text,
// unless parse fails.
func parseInto[T any](dst *T, parse func(string) (T, error), text []byte) error {
	v, err := parse(string(text))
	if err != nil {
		return err
	}
	*dst = v
	return nil
}

// unitExamples say what each unit type takes, for the decoder's "expected
// X, got Y" when its node is not a scalar.
var unitExamples = map[reflect.Type]string{
	reflect.TypeFor[Duration](): "a duration like 30s",
	reflect.TypeFor[ByteSize](): "a byte size like 10MiB",
	reflect.TypeFor[Rate]():     "a rate like 1MiB/s",
}

// quote quotes a user-supplied value for a message, shortening long ones.
func quote(s string) string {
	const max = 64
	if r := []rune(s); len(r) > max {
		s = string(r[:max]) + "..."
	}
	return strconv.Quote(s)
}

// describeNode says what a YAML node is, for "expected X, got Y" messages.
func describeNode(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	default:
		return quote(n.Value)
	}
}
