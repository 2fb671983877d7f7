package metricsport

import (
	"bufio"
	"bytes"
	"math"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// independentCount reads a Prometheus text body the dumb way: one family per
// "# TYPE" line, one sample per non-comment line. It shares no code with
// ParseScrape, so agreement means nothing was dropped or invented.
func independentCount(t *testing.T, body []byte) (types map[string]MetricType, samples int) {
	t.Helper()
	types = map[string]MetricType{}
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "":
		case strings.HasPrefix(line, "# TYPE "):
			f := strings.Fields(line)
			if len(f) != 4 {
				t.Fatalf("odd TYPE line %q", line)
			}
			types[f[2]] = MetricType(f[3])
		case strings.HasPrefix(line, "#"):
		default:
			samples++
		}
	}
	return types, samples
}

func allFixtureFiles(t *testing.T) []string {
	files := topFixtures(t)
	series, err := filepath.Glob(filepath.Join(fixturePath(t, "series"), "*", "*.prom"))
	if err != nil || len(series) == 0 {
		t.Fatalf("no series fixtures under %s/series (err %v)", fixtureDir, err)
	}
	for _, s := range series {
		rel, _ := filepath.Rel(fixtureDir, s)
		files = append(files, rel)
	}
	return files
}

func TestParseScrapeKeepsEveryFamilyAndSample(t *testing.T) {
	files := allFixtureFiles(t)
	if len(files) < 30 {
		t.Fatalf("found %d fixture files, want the 8 scrapes + 27 series files", len(files))
	}
	for _, name := range files {
		body := readFixture(t, name)
		sc, err := ParseScrapeBytes(body)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		types, samples := independentCount(t, body)
		if len(sc.Families) != len(types) {
			t.Errorf("%s: %d families parsed, %d # TYPE lines", name, len(sc.Families), len(types))
		}
		if sc.SampleCount() != samples {
			t.Errorf("%s: %d samples parsed, %d sample lines", name, sc.SampleCount(), samples)
		}
		for fam, typ := range types {
			f := sc.Family(fam)
			if f == nil {
				t.Errorf("%s: family %s missing", name, fam)
				continue
			}
			if f.Type != typ {
				t.Errorf("%s: family %s type %q, TYPE line says %q", name, fam, f.Type, typ)
			}
			if f.Help == "" {
				t.Errorf("%s: family %s lost its HELP", name, fam)
			}
		}
	}
}

func TestParseScrapeTorShapes(t *testing.T) {
	sc, err := ParseScrapeBytes(readFixture(t, "relay-bwrate-limited.prom"))
	if err != nil {
		t.Fatal(err)
	}
	if len(sc.Families) != 24 || sc.SampleCount() != 278 {
		t.Errorf("relay-bwrate-limited: %d families / %d samples, want 24 / 278", len(sc.Families), sc.SampleCount())
	}
	// Gauges whose names end in _total: the declared type must win.
	for _, name := range []string{FamilyCircuits, FamilySockets} {
		if f := sc.Family(name); f == nil || f.Type != TypeGauge {
			t.Errorf("%s: got %+v, want a gauge", name, f)
		}
	}
	if f := sc.Family(FamilyTrafficBytes); f == nil || f.Type != TypeCounter {
		t.Errorf("%s should be a counter, got %+v", FamilyTrafficBytes, f)
	}
	// The socket family holds one unlabelled sample (the limit) and one
	// labelled (current use).
	socks := sc.Family(FamilySockets)
	var unlabelled, opened []float64
	for _, s := range socks.Samples {
		if s.Labels == nil {
			unlabelled = append(unlabelled, s.Value)
		} else if s.Label("state") == "opened" {
			opened = append(opened, s.Value)
		}
	}
	if !reflect.DeepEqual(unlabelled, []float64{19968}) || !reflect.DeepEqual(opened, []float64{19}) {
		t.Errorf("socket samples: unlabelled %v opened %v, want [19968] [19]", unlabelled, opened)
	}
}

// Tor changes family order between processes; the parsed scrape must not.
func TestParseScrapeIgnoresFamilyOrder(t *testing.T) {
	body := readFixture(t, "relay-load.prom")
	want, err := ParseScrapeBytes(body)
	if err != nil {
		t.Fatal(err)
	}
	// Split into family blocks (each starts at "# HELP") and shuffle them.
	parts := strings.Split(string(body), "# HELP ")
	head, fams := parts[0], parts[1:]
	rng := rand.New(rand.NewPCG(1, 2))
	rng.Shuffle(len(fams), func(i, j int) { fams[i], fams[j] = fams[j], fams[i] })
	shuffled := head + "# HELP " + strings.Join(fams, "# HELP ")
	if shuffled == string(body) {
		t.Fatal("shuffle did not change the order; test is not testing anything")
	}
	got, err := ParseScrapeBytes([]byte(shuffled))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Error("shuffled families parse differently")
	}
}

func TestParseScrapeRejectsNonMetrics(t *testing.T) {
	for name, body := range map[string]string{
		"html":       "<html><body>502 Bad Gateway</body></html>\n",
		"empty":      "",
		"only-help":  "# HELP x y\n",
		"bad value":  "tor_relay_traffic_bytes{direction=\"read\"} twelve\n",
		"cut label":  "tor_relay_traffic_bytes{direction=\"re",
		"binary":     "\x00\x01\x02\xff",
		"type clash": "# TYPE a counter\n# TYPE a gauge\na 1\n",
	} {
		if _, err := ParseScrape(strings.NewReader(body)); err == nil {
			t.Errorf("%s: parsed without error", name)
		}
	}
}

func TestParseScrapeFlattensSummaryAndHistogram(t *testing.T) {
	body := `# TYPE lat histogram
lat_bucket{le="0.1"} 1
lat_bucket{le="+Inf"} 3
lat_sum 0.7
lat_count 3
# TYPE q summary
q{quantile="0.5"} NaN
q_sum 1
q_count 2
# TYPE odd untyped
odd{x=""} -Inf
`
	sc, err := ParseScrape(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]float64{}
	for _, f := range sc.Families {
		for _, s := range f.Samples {
			names[s.Name+"/"+s.Label("le")+s.Label("quantile")] = s.Value
		}
	}
	for k, v := range map[string]float64{"lat_bucket/0.1": 1, "lat_bucket/+Inf": 3, "lat_sum/": 0.7, "lat_count/": 3, "q_sum/": 1, "q_count/": 2} {
		if names[k] != v {
			t.Errorf("%s = %v, want %v (all: %v)", k, names[k], v, names)
		}
	}
	if !math.IsNaN(names["q/0.5"]) || !math.IsInf(names["odd/"], -1) {
		t.Errorf("non-finite values lost: %v", names)
	}
	if odd := sc.Family("odd"); odd == nil || odd.Samples[0].Labels != nil {
		t.Errorf("empty label should read as absent: %+v", odd)
	}
}

func TestSnapshotFromRateLimitedRelay(t *testing.T) {
	sc, err := ParseScrapeBytes(readFixture(t, "relay-bwrate-limited.prom"))
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 11, 23, 8, 27, 7, 0, time.UTC)
	s := NewRelaySnapshot(sc, at)
	c, g := s.Counters, s.Gauges
	checks := []struct {
		what      string
		got, want float64
	}{
		{"traffic read", c.TrafficReadBytes, 28906085},
		{"traffic written", c.TrafficWrittenBytes, 30191596},
		{"rate limit read", c.RateLimitReachedRead, 668},
		{"rate limit write", c.RateLimitReachedWrite, 2266},
		{"ntor_v3 processed", c.OnionskinsProcessed["ntor_v3"], 41},
		{"ntor processed", c.OnionskinsProcessed["ntor"], 5},
		{"ntor_v3 dropped", c.OnionskinsDropped["ntor_v3"], 0},
		{"oom cell", c.OOMBytes["cell"], 0},
		{"tcp exhaustion", c.TCPExhaustion, 0},
		{"dos circuit_rejected", c.DoS["circuit_rejected"], 0},
		{"streams BEGIN", c.Streams["BEGIN"], 8},
		{"exit conns created", c.ConnectionsCreated["Exit"], 8},
		{"circuits (gauge)", g.CircuitsOpened, 52},
		{"sockets opened", g.SocketsOpened, 19},
		{"socket limit", g.SocketLimit, 19968},
		{"exit conns open", g.ConnectionsOpen["Exit"], 8},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.what, ch.got, ch.want)
		}
	}
	if len(s.Missing) != 0 || !s.Has(FamilySockets) {
		t.Errorf("Missing = %v, want none", s.Missing)
	}
	if len(c.DoS) != 10 || len(c.OOMBytes) != 4 || len(c.OnionskinsProcessed) != 4 {
		t.Errorf("label maps incomplete: dos %d oom %d onionskins %d", len(c.DoS), len(c.OOMBytes), len(c.OnionskinsProcessed))
	}
	if !s.At.Equal(at) {
		t.Errorf("At = %v", s.At)
	}
}

// A tor client exposes the same families; the SOCKS counts are how we watch
// our own load generator.
func TestSnapshotOfClientHasSocks(t *testing.T) {
	sc, err := ParseScrapeBytes(readFixture(t, "client-after-load.prom"))
	if err != nil {
		t.Fatal(err)
	}
	s := NewRelaySnapshot(sc, time.Time{})
	if got := s.Counters.ConnectionsCreated["Socks"]; got != 199 {
		t.Errorf("Socks connections created = %v, want 199", got)
	}
	if got := s.Counters.TrafficReadBytes; got != 3799945287 {
		t.Errorf("client traffic read = %v, want 3799945287", got)
	}
}

func TestSnapshotMissingFamilies(t *testing.T) {
	sc, err := ParseScrape(strings.NewReader("# TYPE tor_relay_traffic_bytes counter\ntor_relay_traffic_bytes{direction=\"read\"} 5\n"))
	if err != nil {
		t.Fatal(err)
	}
	s := NewRelaySnapshot(sc, time.Time{})
	if !s.Has(FamilyTrafficBytes) || s.Has(FamilyRateLimitReached) || s.Has(FamilySockets) {
		t.Errorf("Has wrong; Missing = %v", s.Missing)
	}
	if len(s.Missing) != len(MappedFamilies)-1 {
		t.Errorf("Missing has %d entries, want %d", len(s.Missing), len(MappedFamilies)-1)
	}
}
