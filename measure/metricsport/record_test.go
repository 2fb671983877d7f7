package metricsport

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/relaybench/relaybench/runner/rundir"
)

// readMetricsLog reads a metrics.jsonl the way a run directory is read.
func readMetricsLog(r io.Reader) ([]ScrapeRecord, error) {
	lines, err := rundir.ReadLines[ScrapeRecord](r, rundir.MetricsFile)
	return lines.Records, err
}

func withoutHelp(sc Scrape) Scrape {
	out := Scrape{Families: make([]Family, len(sc.Families))}
	for i, f := range sc.Families {
		f.Help = ""
		out.Families[i] = f
	}
	return out
}

func TestRecordRoundTripKeepsEverySample(t *testing.T) {
	for _, name := range topFixtures(t) {
		sc, err := ParseScrapeBytes(readFixture(t, name))
		if err != nil {
			t.Fatal(err)
		}
		rec := ScrapeRecord{URL: "http://127.0.0.1:1/metrics", At: time.Date(2025, 11, 23, 8, 26, 34, 123456789, time.UTC), DurationMS: 1.5, OK: true, HTTPStatus: 200, Families: sc.Families}
		line := rec.AppendJSON(nil)
		if !json.Valid(line) {
			t.Fatalf("%s: record is not valid JSON", name)
		}
		if bytes.ContainsRune(line, '\n') {
			t.Fatalf("%s: record spans lines", name)
		}
		std, err := json.Marshal(rec)
		if err != nil || !bytes.Equal(std, line) {
			t.Errorf("%s: json.Marshal differs from the sampler's encoder (err %v)", name, err)
		}
		recs, err := readMetricsLog(bytes.NewReader(append(line, '\n')))
		if err != nil || len(recs) != 1 {
			t.Fatalf("%s: read back %d records, err %v", name, len(recs), err)
		}
		got := recs[0]
		if !reflect.DeepEqual(ScrapeOf(got), withoutHelp(sc)) {
			t.Errorf("%s: samples changed in the round trip", name)
		}
		if !got.At.Equal(rec.At) || got.URL != rec.URL || !got.OK || got.DurationMS != 1.5 || got.HTTPStatus != 200 {
			t.Errorf("%s: header changed: %+v", name, got)
		}
	}
}

func TestRecordNonFiniteAndOddNames(t *testing.T) {
	body := "# TYPE lat histogram\nlat_bucket{le=\"+Inf\"} 3\nlat_sum NaN\nlat_count 3\n# TYPE g gauge\ng{v=\"a\\\"b\\\\c\\nd\"} -Inf\ng{v=\"\u2028\"} 1.5e300\n"
	sc, err := ParseScrape(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	line := ScrapeRecord{OK: true, At: time.Unix(0, 0), Families: sc.Families}.AppendJSON(nil)
	if !json.Valid(line) {
		t.Fatalf("invalid JSON: %s", line)
	}
	recs, err := readMetricsLog(bytes.NewReader(line))
	if err != nil || len(recs) != 1 {
		t.Fatalf("%d records, err %v", len(recs), err)
	}
	got := ScrapeOf(recs[0])
	// NaN != NaN, so compare through the encoder instead of DeepEqual.
	if again := (ScrapeRecord{OK: true, At: time.Unix(0, 0), Families: got.Families}).AppendJSON(nil); !bytes.Equal(again, line) {
		t.Errorf("round trip changed the record:\n%s\n%s", line, again)
	}
	if v := got.Family("lat").Samples[1].Value; !math.IsNaN(v) {
		t.Errorf("lat_sum = %v, want NaN", v)
	}
}

func TestReadMetricsLogToleratesTruncatedLastLine(t *testing.T) {
	sc, _ := ParseScrapeBytes(readFixture(t, "relay-idle.prom"))
	full := ScrapeRecord{URL: "u", At: time.Unix(100, 0), OK: true, Families: sc.Families}.AppendJSON(nil)
	fail := ScrapeRecord{URL: "u", At: time.Unix(101, 0), Kind: FailTimeout, Error: "no complete answer"}.AppendJSON(nil)
	var log []byte
	log = append(append(log, full...), '\n')
	log = append(append(log, fail...), '\n')
	cut := append(bytes.Clone(log), full[:len(full)/2]...) // crash mid-write

	recs, err := readMetricsLog(bytes.NewReader(cut))
	if err != nil || len(recs) != 2 || !recs[0].OK || recs[1].OK || recs[1].Kind != FailTimeout {
		t.Fatalf("got %d records err %v, want the 2 complete ones", len(recs), err)
	}
	// Blank lines and a final newline are fine too.
	if recs, err := readMetricsLog(bytes.NewReader(append([]byte("\n"), log...))); err != nil || len(recs) != 2 {
		t.Errorf("blank line: %d records err %v", len(recs), err)
	}
	// Damage in the middle is skipped and named, with the records around it.
	mid := append(append(bytes.Clone(full), "\n{\"url\":\n"...), fail...)
	recs, err = readMetricsLog(bytes.NewReader(mid))
	if err == nil || len(recs) != 2 || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("middle damage: %d records err %v, want 2 records and an error naming line 2", len(recs), err)
	}
}

func TestObservationsFromRecords(t *testing.T) {
	sc, _ := ParseScrapeBytes(readFixture(t, "relay-bwrate-limited.prom"))
	t0 := time.Date(2025, 11, 23, 9, 0, 0, 0, time.UTC)
	recs := []ScrapeRecord{
		{URL: "relay", At: t0.Add(2 * time.Second), Kind: FailTimeout, Error: "timeout"},
		{URL: "relay", At: t0, OK: true, Families: sc.Families},
		{URL: "client", At: t0.Add(time.Second), OK: true, Families: sc.Families},
		{URL: "relay", At: t0.Add(3 * time.Second), OK: false},
	}
	loadFrom := t0.Add(1500 * time.Millisecond)
	obs := Observations(recs, "relay", func(at time.Time) bool { return !at.Before(loadFrom) })
	if len(obs) != 3 || obs[0].Snapshot == nil || obs[0].UnderLoad || obs[1].Snapshot != nil || !obs[1].UnderLoad || obs[2].Err == "" {
		t.Fatalf("observations wrong: %+v", obs)
	}
	if obs[0].Snapshot.Gauges.SocketLimit != 19968 {
		t.Errorf("snapshot from record lost the socket limit")
	}
	sigs := DetectOnsets(obs, SignalConfig{})
	// Two failures in a row under load (t0+2s, t0+3s): fires at the second.
	if len(sigs) != 1 || sigs[0].Name != SignalMetricsPortUnreachable || !sigs[0].At.Equal(t0.Add(3*time.Second)) ||
		!strings.Contains(sigs[0].Evidence, "19968 sockets open") {
		t.Errorf("signals %+v, want metricsport-unreachable at t0+3s with the last socket count", sigs)
	}
	if got := Snapshots(recs, ""); len(got) != 2 {
		t.Errorf("Snapshots of all URLs: %d, want 2", len(got))
	}
}

// TestRecordSize documents what a line costs, for the sampler's design note:
// the whole BandwidthRate series as a log, raw and gzipped.
func TestRecordSize(t *testing.T) {
	snaps := seriesSnapshots(t, "relay-BandwidthRate-1MB") // also checks the files parse
	files, _ := filepath.Glob(filepath.Join(fixturePath(t, "series/relay-BandwidthRate-1MB"), "*.prom"))
	var log, gz bytes.Buffer
	text := 0
	for i, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		text += len(body)
		sc, _ := ParseScrapeBytes(body)
		log.Write(ScrapeRecord{URL: "http://127.0.0.1:9035/metrics", At: snaps[0].At.Add(time.Duration(i) * time.Second), DurationMS: 1.234, OK: true, HTTPStatus: 200, Families: sc.Families}.AppendJSON(nil))
		log.WriteByte('\n')
	}
	zw := gzip.NewWriter(&gz)
	zw.Write(log.Bytes())
	zw.Close()
	perLine := float64(log.Len()) / float64(len(files))
	t.Logf("%d scrapes: text %.0f B/scrape, record %.0f B/line, gzip %.0f B/line (%.0fx); 30 min at 1 s = %.1f MB per URL, %.2f MB gzipped",
		len(files), float64(text)/float64(len(files)), perLine, float64(gz.Len())/float64(len(files)), float64(log.Len())/float64(gz.Len()),
		perLine*1800/1e6, float64(gz.Len())/float64(len(files))*1800/1e6)
	if perLine > 16<<10 {
		t.Errorf("record line grew to %.0f B; the 30-minute log would exceed ~30 MB per URL", perLine)
	}
}
