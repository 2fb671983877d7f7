package rundir

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The one rule of every raw file: a cut-short last line is dropped and
// reported; a bad line anywhere else stops the reading with the records
// before it and a LineError naming the file and the line.
func TestReadLinesTruncationRule(t *testing.T) {
	var b bytes.Buffer
	w := NewWriter[Record](&b, RequestsFile)
	for i := range 3 {
		if err := w.Write(Record{Step: i, Error: ClassTimeout}); err != nil {
			t.Fatal(err)
		}
	}
	full := b.Bytes()
	if n := bytes.Count(full, []byte("\n")); n != 3 {
		t.Fatalf("%d lines for 3 records", n)
	}

	got, err := ReadLines[Record](bytes.NewReader(full[:len(full)-10]), RequestsFile)
	if err != nil || len(got.Records) != 2 || got.Records[1].Step != 1 || !got.TruncatedLast {
		t.Errorf("cut last line: %d records, truncated %v, %v; want 2, true, nil", len(got.Records), got.TruncatedLast, err)
	}
	got, err = ReadLines[Record](bytes.NewReader(append([]byte("\n"), full...)), RequestsFile)
	if err != nil || len(got.Records) != 3 || got.TruncatedLast {
		t.Errorf("blank line: %d records, truncated %v, %v; want 3, false, nil", len(got.Records), got.TruncatedLast, err)
	}

	// A bad line that ends in its newline is damage, even the last one.
	for _, tc := range []struct {
		name  string
		data  []byte
		line  int
		nrecs int
	}{
		{"first line", append([]byte("{not json}\n"), full...), 1, 0},
		{"middle", append(append(bytes.Clone(full[:bytes.IndexByte(full, '\n')+1]), "{\"step\":\n"...), full...), 2, 1},
		{"complete last line", append(bytes.Clone(full), "{\"step\":\n"...), 4, 3},
	} {
		got, err := ReadLines[Record](bytes.NewReader(tc.data), RequestsFile)
		var le *LineError
		if !errors.As(err, &le) || le.Line != tc.line || le.File != RequestsFile || len(got.Records) != tc.nrecs {
			t.Errorf("%s: %d records, %v; want %d and a LineError at line %d", tc.name, len(got.Records), err, tc.nrecs, tc.line)
			continue
		}
		if want := "requests.jsonl: line"; !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s: error %q does not start with %q", tc.name, err, want)
		}
	}
}

type failingWriter struct{ writes int }

func (f *failingWriter) Write(p []byte) (int, error) {
	f.writes++
	return 0, errors.New("disk full")
}

// The first write error is kept and returned by every later Write, which
// then writes nothing: no gap in the middle of a file.
func TestWriterKeepsFirstError(t *testing.T) {
	fw := &failingWriter{}
	w := NewWriter[StepSummary](fw, StepsFile)
	err := w.Write(StepSummary{Step: 1})
	if err == nil || !strings.Contains(err.Error(), "write steps.jsonl: disk full") {
		t.Fatalf("first write: %v", err)
	}
	if err2 := w.Write(StepSummary{Step: 2}); err2 != err || fw.writes != 1 {
		t.Errorf("second write: %v after %d writes; want the first error and no write", err2, fw.writes)
	}
	if w.Err() != err || w.Close() != err {
		t.Errorf("Err %v, Close %v; want the first error", w.Err(), w.Close())
	}
}

type flushCounter struct {
	bytes.Buffer
	flushes int
}

func (f *flushCounter) Flush() error { f.flushes++; return nil }

// A ScrapeRecord is written with its hand-written encoding, one line per
// Write, flushed when the writer can, and reads back equal.
func TestWriterUsesAppendJSONAndFlushes(t *testing.T) {
	var out flushCounter
	w := NewWriter[ScrapeRecord](&out, MetricsFile)
	rec := ScrapeRecord{URL: "u", At: time.Unix(1, 0).UTC(), OK: true, Families: []MetricFamily{
		{Name: "x", Type: "counter", Samples: []MetricSample{{Name: "x", Labels: map[string]string{"a": "b"}, Value: 3}}},
	}}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if want := string(rec.AppendJSON(nil)) + "\n"; out.String() != want || out.flushes != 1 {
		t.Errorf("wrote %q with %d flushes; want %q and 1 flush", out.String(), out.flushes, want)
	}
	got, err := ReadLines[ScrapeRecord](bytes.NewReader(out.Bytes()), MetricsFile)
	if err != nil || len(got.Records) != 1 || got.Records[0].Families[0].Samples[0].Label("a") != "b" {
		t.Errorf("read back %+v, %v", got.Records, err)
	}
}

func TestWriteFileAtomicReplacesWhole(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, SummaryFile)
	for _, v := range []map[string]int{{"a": 1}, {"b": 2}} {
		if err := WriteJSON(path, v); err != nil {
			t.Fatal(err)
		}
	}
	var got map[string]int
	if err := ReadJSON(path, &got); err != nil || got["b"] != 2 || len(got) != 1 {
		t.Errorf("read %v, %v", got, err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("mode: %v, %v", st, err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("%d files in the directory; want no temporary file left", len(ents))
	}
	if err := WriteJSON(filepath.Join(dir, "no", "such", "dir.json"), 1); err == nil {
		t.Error("write into a missing directory succeeded")
	}
}

// Read needs requests.jsonl; every other file is optional, and damage
// becomes a Problem naming the file while the records before it are kept.
func TestReadRunDirectory(t *testing.T) {
	dir := t.TempDir()
	if _, err := Read(dir); err == nil {
		t.Fatal("a directory without requests.jsonl was read")
	}
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	reqs, err := Append[Record](dir, RequestsFile)
	if err != nil {
		t.Fatal(err)
	}
	reqs.Write(Record{Start: t0, TTLBNS: int64(time.Second)})
	if err := reqs.Close(); err != nil {
		t.Fatal(err)
	}
	if err := WriteRunInfo(dir, RunInfo{Scenario: "s", Metrics: []MetricsEndpoint{{URL: "http://127.0.0.1:1/metrics", Role: RoleTarget}}}); err != nil {
		t.Fatal(err)
	}
	procs := `{"t":"2025-01-02T03:04:05Z","name":"machine","role":"machine","cpu_s":1}` + "\n" + "{bad}\n"
	circs := `{"t":"2025-01-02T03:04:05Z","client":"load0","event":"built","id":"1"}` + "\n" + `{"t":"2025-01`
	for name, data := range map[string]string{ProcessesFile: procs, CircuitsFile: circs} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	r, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Records) != 1 || !r.Records[0].End().Equal(t0.Add(time.Second)) {
		t.Errorf("records %+v", r.Records)
	}
	if r.Info == nil || r.Info.Version != RunInfoVersion || r.Info.Metrics[0].Role != RoleTarget {
		t.Errorf("run info %+v", r.Info)
	}
	if len(r.Processes) != 1 || len(r.Circuits) != 1 || r.Steps != nil || r.Metrics != nil {
		t.Errorf("processes %d, circuits %d, steps %v, metrics %v", len(r.Processes), len(r.Circuits), r.Steps, r.Metrics)
	}
	if want := []string{"processes.jsonl: line 2 is damaged (invalid character 'b' looking for beginning of object key string); the lines before it are used"}; !slices.Equal(r.Problems, want) {
		t.Errorf("problems %q, want %q", r.Problems, want)
	}
	if want := []string{CircuitsFile}; !slices.Equal(r.Truncated, want) {
		t.Errorf("truncated %q, want %q", r.Truncated, want)
	}
}

func TestAttachedTTFB(t *testing.T) {
	for _, tc := range []struct {
		name string
		rec  Record
		want time.Duration
		ok   bool
	}{
		{"new connection", Record{ConnectNS: 300e6, WroteNS: 301e6, TTFBNS: 350e6}, 49 * time.Millisecond, true},
		{"reused connection", Record{WroteNS: 1e5, TTFBNS: 40e6}, 40*time.Millisecond - 100*time.Microsecond, true},
		{"record from before wrote_ns", Record{ConnectNS: 300e6, TTFBNS: 350e6}, 50 * time.Millisecond, true},
		{"no first byte", Record{ConnectNS: 300e6, WroteNS: 301e6}, 0, false},
	} {
		got, ok := tc.rec.AttachedTTFB()
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: AttachedTTFB = %v, %v; want %v, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

func TestScrapeStampAndRoundTrip(t *testing.T) {
	at := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	rec := ScrapeRecord{URL: "http://127.0.0.1:9035/metrics", At: at, DurationMS: 620, ResponseMS: 600, Slow: true, OK: true}
	// tor rendered the values somewhere between the request (At) and
	// the response (At + 600 ms): the midpoint.
	if got, want := rec.Stamp(), at.Add(300*time.Millisecond); !got.Equal(want) {
		t.Errorf("Stamp = %v, want %v", got, want)
	}
	old := ScrapeRecord{At: at, DurationMS: 10}
	if got, want := old.Stamp(), at.Add(5*time.Millisecond); !got.Equal(want) {
		t.Errorf("Stamp without resp_ms = %v, want the midpoint of the scrape %v", got, want)
	}
	line := rec.AppendJSON(nil)
	if !bytes.Contains(line, []byte(`"resp_ms":600,"slow":true`)) {
		t.Errorf("line %s lacks resp_ms and slow", line)
	}
	var back ScrapeRecord
	if err := json.Unmarshal(line, &back); err != nil {
		t.Fatal(err)
	}
	if back.ResponseMS != 600 || !back.Slow || !back.Stamp().Equal(rec.Stamp()) {
		t.Errorf("read back %+v, want resp_ms 600 and slow", back)
	}
}
