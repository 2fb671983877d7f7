package metricsport

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"
)

// fixtureDir holds real scrapes of tor 0.4.9.11 (its README says what each
// one is). The measure package's tests read its series too.
const fixtureDir = "testdata/scrapes"

// fixturePath returns the path of a fixture file and fails the test when it
// is missing: a skipped fixture test would pass silently.
func fixturePath(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(fixtureDir, name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("fixture %s missing (%v): it belongs in measure/metricsport/%s", name, err, p)
	}
	return p
}

// readFixture returns a fixture file's bytes.
func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(fixturePath(t, name))
	if err != nil {
		t.Fatalf("read fixture %s: %v", name, err)
	}
	return b
}

// topFixtures lists the single-scrape fixtures (*.prom at the top level).
func topFixtures(t testing.TB) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(fixturePath(t, "."), "*.prom"))
	if err != nil || len(m) == 0 {
		t.Fatalf("no *.prom fixtures in %s (err %v)", fixtureDir, err)
	}
	for i := range m {
		m[i] = filepath.Base(m[i])
	}
	return m
}

var seriesName = regexp.MustCompile(`^scrape-(\d+)-(\d\d)(\d\d)(\d\d)\.prom$`)

// seriesSnapshots loads series/<run>/, taking each scrape's time from its
// file name (HHMMSS; the date is arbitrary but fixed).
func seriesSnapshots(t testing.TB, run string) []RelaySnapshot {
	t.Helper()
	dir := fixturePath(t, filepath.Join("series", run))
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("read series %s: %v", dir, err)
	}
	var snaps []RelaySnapshot
	for _, e := range entries {
		m := seriesName.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		h, _ := strconv.Atoi(m[2])
		mi, _ := strconv.Atoi(m[3])
		s, _ := strconv.Atoi(m[4])
		at := time.Date(2025, 11, 23, h, mi, s, 0, time.UTC)
		body, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		sc, err := ParseScrapeBytes(body)
		if err != nil {
			t.Fatalf("parse %s: %v", e.Name(), err)
		}
		snaps = append(snaps, NewRelaySnapshot(sc, at))
	}
	if len(snaps) < 2 {
		t.Fatalf("series %s has %d scrapes, want at least 2", run, len(snaps))
	}
	slices.SortFunc(snaps, func(a, b RelaySnapshot) int { return a.At.Compare(b.At) })
	return snaps
}

// observationsOf wraps snapshots as successful observations.
func observationsOf(snaps []RelaySnapshot) []Observation {
	obs := make([]Observation, len(snaps))
	for i := range snaps {
		obs[i] = Observation{At: snaps[i].At, Snapshot: &snaps[i], UnderLoad: true}
	}
	return obs
}

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}
