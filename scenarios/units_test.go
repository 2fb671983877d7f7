package scenarios

import (
	"encoding/json"
	"testing"
	"time"
)

func TestParseByteSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want ByteSize
	}{
		{"0", 0},
		{"1048576", 1 << 20},
		{"10MiB", 10 << 20},
		{"512KiB", 512 << 10},
		{"1GiB", 1 << 30},
		{"2TiB", 2 << 40},
		{"10MB", 10_000_000},
		{"10 mb", 10_000_000},
		{"64kB", 64_000},
		{"1.5MiB", 1536 << 10},
		{".5 KiB", 512},
		{"2 MBytes", 2 << 20},
		{"2 mbytes", 2 << 20},
		{"512 KBytes", 512 << 10},
		{"1 GBytes", 1 << 30},
		{"100 bytes", 100},
		{"1 byte", 1},
		{"7b", 7},
		{"8 Mbits", 1 << 20}, // tor: 8 * 2^20 bits
		{"1 kbit", 128},
		{"1 Mbit", 1 << 17},
		{"1 megabit", 1 << 17},
		{"1 TBytes", 1 << 40},
		{"3 Gbits", 3 << 27},
		{"2 megabytes", 2 << 20},
		{"  4 KiB  ", 4 << 10},
		{"8388607.5 TiB", 1<<63 - 1<<39}, // just fits
	} {
		got, err := ParseByteSize(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for in, want := range map[string]string{
		"":                     `"" is not a byte size (use e.g. 64KiB, 10MiB, 2 MBytes)`,
		"-1MiB":                `"-1MiB" is not a byte size (use e.g. 64KiB, 10MiB, 2 MBytes)`,
		"10 MiBs":              `"10 MiBs" is not a byte size (use e.g. 64KiB, 10MiB, 2 MBytes)`,
		"1e6":                  `"1e6" is not a byte size (use e.g. 64KiB, 10MiB, 2 MBytes)`,
		"10M":                  `"10M" is not a byte size (use e.g. 64KiB, 10MiB, 2 MBytes)`,
		"1MiB/s":               `"1MiB/s" is not a byte size (use e.g. 64KiB, 10MiB, 2 MBytes)`,
		"8EiB":                 `"8EiB" is not a byte size (use e.g. 64KiB, 10MiB, 2 MBytes)`,
		"8388608 TiB":          `"8388608 TiB" is too large for a byte size`,
		"8388608.0 TiB":        `"8388608.0 TiB" is too large for a byte size`,
		"99999999999999999999": `"99999999999999999999" is too large for a byte size`,
	} {
		if _, err := ParseByteSize(in); err == nil || err.Error() != want {
			t.Errorf("ParseByteSize(%q) error = %v, want %s", in, err, want)
		}
	}
}

func TestByteSizeString(t *testing.T) {
	for _, tc := range []struct {
		in        ByteSize
		human     string
		marshaled string
	}{
		{0, "0B", "0B"},
		{512, "512B", "512B"},
		{1 << 10, "1KiB", "1KiB"},
		{10 << 20, "10MiB", "10MiB"},
		{1536 << 10, "1.5MiB", "1.5MiB"},
		{10_000_000, "9.54MiB", "10MB"},
		{10e9, "9.31GiB", "10GB"},
		{20 << 30, "20GiB", "20GiB"},
		{1<<20 + 1, "1MiB", "1048577"},
	} {
		if got := tc.in.String(); got != tc.human {
			t.Errorf("ByteSize(%d).String() = %q, want %q", int64(tc.in), got, tc.human)
		}
		b, _ := tc.in.MarshalText()
		m := string(b)
		if m != tc.marshaled {
			t.Errorf("ByteSize(%d).MarshalText() = %q, want %q", int64(tc.in), m, tc.marshaled)
		}
		back, err := ParseByteSize(m)
		if err != nil || back != tc.in {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d", m, back, err, tc.in)
		}
	}
}

func TestParseRate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Rate
	}{
		{"1MiB/s", 1 << 20},
		{"1 MiB/s", 1 << 20},
		{"1MIB/S", 1 << 20},
		{"2 MBytes", 2 << 20},
		{"64KiB", 64 << 10},
		{"100 Mbits/s", 100 << 17},
		{"65536", 65536},
		{"0/s", 0},
	} {
		got, err := ParseRate(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseRate(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for in, want := range map[string]string{
		"64KB/x":       `"64KB/x" is not a rate (use e.g. 512KiB/s, 1MiB/s, 2 MBytes)`,
		"1MiB/min":     `"1MiB/min" is not a rate (use e.g. 512KiB/s, 1MiB/s, 2 MBytes)`,
		"/s":           `"/s" is not a rate (use e.g. 512KiB/s, 1MiB/s, 2 MBytes)`,
		"9EB/s":        `"9EB/s" is not a rate (use e.g. 512KiB/s, 1MiB/s, 2 MBytes)`,
		"9300000 TB/s": `"9300000 TB/s" is too large for a rate`,
	} {
		if _, err := ParseRate(in); err == nil || err.Error() != want {
			t.Errorf("ParseRate(%q) error = %v, want %s", in, err, want)
		}
	}
	if got := Rate(1536 << 10).String(); got != "1.5MiB/s" {
		t.Errorf("String() = %q", got)
	}
}

func TestDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		str  string
	}{
		{"30s", 30 * time.Second, "30s"},
		{"1m30s", 90 * time.Second, "1m30s"},
		{"30m", 30 * time.Minute, "30m"},
		{"90m", 90 * time.Minute, "1h30m"},
		{"2h", 2 * time.Hour, "2h"},
		{"250ms", 250 * time.Millisecond, "250ms"},
		{"0s", 0, "0s"},
		{"0", 0, "0s"},
		{"1h0m1s", time.Hour + time.Second, "1h0m1s"},
	} {
		got, err := ParseDuration(tc.in)
		if err != nil || got.Std() != tc.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			continue
		}
		if got.String() != tc.str {
			t.Errorf("Duration(%v).String() = %q, want %q", tc.want, got.String(), tc.str)
		}
		if back, err := ParseDuration(got.String()); err != nil || back != got {
			t.Errorf("String() of %v does not parse back: %v, %v", tc.want, back, err)
		}
	}
	for in, want := range map[string]string{
		"60":   `"60" is not a duration (use e.g. 500ms, 30s, 1m30s)`,
		"1 m":  `"1 m" is not a duration (use e.g. 500ms, 30s, 1m30s)`,
		"-5s":  `"-5s" is negative: durations must be 0s or more`,
		"soon": `"soon" is not a duration (use e.g. 500ms, 30s, 1m30s)`,
	} {
		if _, err := ParseDuration(in); err == nil || err.Error() != want {
			t.Errorf("ParseDuration(%q) error = %v, want %s", in, err, want)
		}
	}
}

// TestUnitsJSON: reports may embed resolved values as JSON.
func TestUnitsJSON(t *testing.T) {
	in := struct {
		D Duration
		B ByteSize
		R Rate
	}{Duration(90 * time.Second), 10 << 20, 1 << 20}
	data, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != `{"D":"1m30s","B":"10MiB","R":"1MiB/s"}` {
		t.Errorf("json = %s", data)
	}
	out := in
	out.D, out.B, out.R = 0, 0, 0
	if err := json.Unmarshal(data, &out); err != nil || out != in {
		t.Errorf("json round trip = %+v, %v", out, err)
	}
}
