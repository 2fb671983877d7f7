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
// reported; a bad line anywhere else is skipped and counted, the reading
// goes on, and a BadLinesError names the file and the lines.
func TestReadLinesTruncationRule(t *testing.T) {
	var b bytes.Buffer
	w := NewWriter[Record](&b, RequestsFile)
	for i := range 3 {
		if err := w.Write(Record{StepKey: StepKey{Step: i}, Error: ClassTimeout}); err != nil {
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

	// A bad line that ends in its newline is damage, even the last one;
	// every good line around it is read.
	line1 := full[:bytes.IndexByte(full, '\n')+1]
	junk := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	many := junk(line1, []byte("x\n"), []byte("y\n"), line1, []byte("z\n"), []byte("{\n"), []byte("[\n"), []byte("1\n"), full)
	for _, tc := range []struct {
		name  string
		data  []byte
		lines []int
		count int
		nrecs int
		text  string
	}{
		{"first line", junk([]byte("{not json}\n"), full), []int{1}, 1, 3,
			"requests.jsonl: 1 damaged line skipped (line 1: invalid character 'n' looking for beginning of object key string); the 3 good lines were read"},
		{"middle", junk(line1, []byte("{\"step\":\n"), full), []int{2}, 1, 4, "requests.jsonl: 1 damaged line skipped (line 2: "},
		{"complete last line", junk(full, []byte("{\"step\":\n")), []int{4}, 1, 3, "(line 4: "},
		{"many", many, []int{2, 3, 5, 6, 7}, 6, 5, "requests.jsonl: 6 damaged lines skipped (lines 2, 3, 5, 6, 7, ...: "},
	} {
		got, err := ReadLines[Record](bytes.NewReader(tc.data), RequestsFile)
		var be *BadLinesError
		if !errors.As(err, &be) || !slices.Equal(be.Lines, tc.lines) || be.Count != tc.count || be.File != RequestsFile || len(got.Records) != tc.nrecs || be.Records != tc.nrecs {
			t.Errorf("%s: %d records, %v; want %d and a BadLinesError at lines %v (%d in all)", tc.name, len(got.Records), err, tc.nrecs, tc.lines, tc.count)
			continue
		}
		if !strings.Contains(err.Error(), tc.text) {
			t.Errorf("%s: error %q does not say %q", tc.name, err, tc.text)
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
	err := w.Write(StepSummary{StepKey: StepKey{Step: 1}})
	if err == nil || !strings.Contains(err.Error(), "write steps.jsonl: disk full") {
		t.Fatalf("first write: %v", err)
	}
	if err2 := w.Write(StepSummary{StepKey: StepKey{Step: 2}}); err2 != err || fw.writes != 1 {
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
	if want := []string{"processes.jsonl: 1 damaged line skipped (line 2: invalid character 'b' looking for beginning of object key string); the 1 good line was read"}; !slices.Equal(r.Problems, want) {
		t.Errorf("problems %q, want %q", r.Problems, want)
	}
	if want := []string{CircuitsFile}; !slices.Equal(r.Truncated, want) {
		t.Errorf("truncated %q, want %q", r.Truncated, want)
	}
}

// TestReadSaysWhatIsWrong: what Read makes of each kind of broken run
// directory: an empty raw file is a note, a damaged one a problem with
// its good lines kept, a run.json of an unknown version a problem, a
// missing requests.jsonl an error matching ErrDamaged.
func TestReadSaysWhatIsWrong(t *testing.T) {
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	good := func(dir string) {
		w, err := Append[Record](dir, RequestsFile)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			w.Write(Record{StepKey: StepKey{Step: i}, Start: t0})
		}
		w.Close()
		if err := WriteRunInfo(dir, RunInfo{Scenario: "s", Started: t0}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name            string
		edit            func(dir string)
		err             string // Read's error, "" for none
		problems, notes []string
		missing         []string
		records         int
	}{
		{"intact", func(string) {}, "", nil, nil, []string{StepsFile, ProcessesFile, CircuitsFile, MetricsFile}, 3},
		{"empty files", func(dir string) {
			for _, f := range []string{StepsFile, MetricsFile, CircuitsFile} {
				os.WriteFile(filepath.Join(dir, f), nil, 0o644)
			}
		}, "", nil, []string{"steps.jsonl is empty", "metrics.jsonl is empty"}, []string{ProcessesFile}, 3},
		{"empty requests.jsonl", func(dir string) {
			os.WriteFile(filepath.Join(dir, RequestsFile), nil, 0o644)
		}, "", nil, []string{"requests.jsonl is empty: no request was recorded"}, []string{StepsFile, ProcessesFile, CircuitsFile, MetricsFile}, 0},
		{"junk in requests.jsonl", func(dir string) {
			b, _ := os.ReadFile(filepath.Join(dir, RequestsFile))
			os.WriteFile(filepath.Join(dir, RequestsFile), append([]byte("<html>\n"), b...), 0o644)
		}, "", []string{"requests.jsonl: 1 damaged line skipped (line 1: invalid character '<' looking for beginning of value); the 3 good lines were read"}, nil, []string{StepsFile, ProcessesFile, CircuitsFile, MetricsFile}, 3},
		{"run.json of version 99", func(dir string) {
			os.WriteFile(filepath.Join(dir, RunInfoFile), []byte(`{"version": 99}`), 0o644)
		}, "", []string{"run.json is version 99, newer than this relaybench reads (1): use the relaybench that wrote it, or a newer one"}, nil, []string{StepsFile, ProcessesFile, CircuitsFile, MetricsFile}, 3},
		{"run.json without a version", func(dir string) {
			os.WriteFile(filepath.Join(dir, RunInfoFile), []byte(`{"scenario": "s"}`), 0o644)
		}, "", []string{"run.json has version 0, which no relaybench wrote (this one reads 1 to 1): it is damaged or not relaybench's"}, nil, []string{StepsFile, ProcessesFile, CircuitsFile, MetricsFile}, 3},
		{"no requests.jsonl", func(dir string) {
			os.Remove(filepath.Join(dir, RequestsFile))
		}, "has no requests.jsonl: the run recorded no request", nil, nil, nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			good(dir)
			tc.edit(dir)
			r, err := Read(dir)
			if tc.err != "" {
				if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("err %v, want one matching ErrDamaged saying %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(r.Problems, tc.problems) || !slices.Equal(r.Notes, tc.notes) || !slices.Equal(r.Missing, tc.missing) || len(r.Records) != tc.records {
				t.Errorf("problems %q, notes %q, missing %q, %d records;\nwant %q, %q, %q, %d", r.Problems, r.Notes, r.Missing, len(r.Records), tc.problems, tc.notes, tc.missing, tc.records)
			}
		})
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

// TestWritten: only non-empty files count as written, the variants
// directory does as soon as it exists, and the reports keep a fixed order.
func TestWritten(t *testing.T) {
	dir := t.TempDir()
	if derived, raw := Written(dir); len(derived) != 0 || raw {
		t.Errorf("empty dir: %q, raw %v", derived, raw)
	}
	if got := ResultsLine(dir); got != "nothing was measured; the run directory is "+dir {
		t.Errorf("empty dir: ResultsLine %q", got)
	}
	for name, data := range map[string]string{SummaryFile: "{}", HTMLFile: "<html>", MarkdownFile: "", StepsFile: ""} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if derived, raw := Written(dir); !slices.Equal(derived, []string{HTMLFile, SummaryFile}) || raw {
		t.Errorf("reports, empty raw file: %q, raw %v", derived, raw)
	}
	if got := ResultsLine(dir); got != "results in "+dir+": report.html, summary.json" {
		t.Errorf("reports, empty raw file: ResultsLine %q", got)
	}
	if err := os.WriteFile(filepath.Join(dir, RequestsFile), []byte("{}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, VariantsDir), 0o700); err != nil {
		t.Fatal(err)
	}
	if derived, raw := Written(dir); !slices.Equal(derived, []string{HTMLFile, SummaryFile, VariantsDir}) || !raw {
		t.Errorf("with requests and variants: %q, raw %v", derived, raw)
	}
	if got := ResultsLine(dir); got != "results in "+dir+": report.html, summary.json, variants and the raw files" {
		t.Errorf("with requests and variants: ResultsLine %q", got)
	}
	rawOnly := t.TempDir()
	if err := os.WriteFile(filepath.Join(rawOnly, StepsFile), []byte("{}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := ResultsLine(rawOnly); got != "no report was written; the raw files are in "+rawOnly {
		t.Errorf("raw files only: ResultsLine %q", got)
	}
}
