package reports

import (
	"bufio"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/relaybench/relaybench/measure"
	"github.com/relaybench/relaybench/runner/rundir"
)

// rawStep is a line of steps.jsonl read here with encoding/json alone,
// not with the runner's or measure's code, so that the numbers below are
// derived independently of the analysis they check.
type rawStep struct {
	Rep         int       `json:"rep"`
	Step        int       `json:"step"`
	Start       time.Time `json:"start"`
	End         time.Time `json:"end"`
	WarmupEnd   time.Time `json:"warmup_end"`
	Bytes       int64     `json:"bytes"`
	SecondBytes []int64   `json:"second_bytes"`
}

// handGoodput computes each repetition's goodput per step from
// steps.jsonl by hand: the bytes of the whole seconds after the warm-up
// (the runner counts the bytes of each second since the step's start)
// over the seconds from the warm-up's end to the step's end. result[step]
// holds the repetitions in order.
func handGoodput(t *testing.T, dir string) map[int][]float64 {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "steps.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var steps []rawStep
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var s rawStep
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			t.Fatal(err)
		}
		steps = append(steps, s)
	}
	slices.SortFunc(steps, func(a, b rawStep) int { return (a.Rep*100 + a.Step) - (b.Rep*100 + b.Step) })
	out := map[int][]float64{}
	for _, s := range steps {
		warm := s.WarmupEnd.Sub(s.Start)
		if warm%time.Second != 0 {
			t.Fatalf("%s rep %d step %d: warm-up %v is not whole seconds; the hand computation needs it", dir, s.Rep, s.Step, warm)
		}
		var sum int64
		for _, n := range s.SecondBytes[int(warm/time.Second):] {
			sum += n
		}
		if sum != s.Bytes {
			t.Errorf("%s rep %d step %d: the seconds after the warm-up hold %d bytes, the window %d", dir, s.Rep, s.Step, sum, s.Bytes)
		}
		out[s.Step] = append(out[s.Step], float64(sum)/s.End.Sub(s.WarmupEnd).Seconds())
	}
	return out
}

// tTable are Student's t 0.975 quantiles by degrees of freedom, from a
// printed table.
var tTable = map[int]float64{1: 12.706, 5: 2.571}

// TestAnalysisFromRawData regenerates the summaries of the runs in
// testdata/runs from their raw files (the fixtures are the raw data, no
// summary.json is kept) and checks the numbers compare and the reports
// rest on against a computation by hand: each repetition's goodput, the
// step's mean and 95 % interval over the repetitions, and the capacity's
// per-repetition samples.
func TestAnalysisFromRawData(t *testing.T) {
	for _, name := range []string{"bw4", "rate1mb-a", "rate1mb-b", "rate4mb-a", "rate4mb-b"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("testdata", "runs", name)
			hand := handGoodput(t, dir)
			a := analyzeRun(t, name)
			if len(a.Steps) != len(hand) {
				t.Fatalf("%d steps, by hand %d", len(a.Steps), len(hand))
			}
			for _, s := range a.Steps {
				reps := hand[s.Step]
				n := float64(len(reps))
				if len(s.RepGoodput) != len(reps) {
					t.Fatalf("step %d: %d repetitions, by hand %d", s.Step+1, len(s.RepGoodput), len(reps))
				}
				mean, ss := 0.0, 0.0
				for i, g := range reps {
					if math.Abs(s.RepGoodput[i]-g) > 1e-9*g {
						t.Errorf("step %d repetition %d: goodput %.3f, by hand %.3f", s.Step+1, i+1, s.RepGoodput[i], g)
					}
					mean += g / n
				}
				for _, g := range reps {
					ss += (g - mean) * (g - mean)
				}
				half := tTable[len(reps)-1] * math.Sqrt(ss/(n-1)) / math.Sqrt(n)
				e := s.Goodput
				if e.N != len(reps) || e.Of != measure.EstimateRepetitions || math.Abs(e.Mean-mean) > 1e-9*mean ||
					math.Abs(e.High-mean-half) > 1e-3*half || math.Abs(mean-e.Low-half) > 1e-3*half {
					t.Errorf("step %d: goodput %+v, by hand %.0f ± %.0f over %d repetitions", s.Step+1, e, mean, half, len(reps))
				}
			}
			c := a.Capacity
			if c == nil {
				t.Fatal("no capacity")
			}
			if !slices.Equal(c.RepGoodput, a.Steps[c.Step].RepGoodput) || math.Abs(c.Goodput.Mean-a.Steps[c.Step].Goodput.Mean) > 0 {
				t.Errorf("capacity %+v: its samples are not the repetitions' goodput at step %d", c, c.Step+1)
			}

			// summary.json says what its samples are.
			out := t.TempDir()
			if err := measure.WriteSummary(out, a); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(filepath.Join(out, rundir.SummaryFile))
			if err != nil {
				t.Fatal(err)
			}
			var doc struct {
				Version int `json:"version"`
				Steps   []struct {
					Goodput struct {
						N  int    `json:"n"`
						Of string `json:"n_of"`
					} `json:"goodput"`
				} `json:"steps"`
				Capacity struct {
					RepGoodput []float64 `json:"rep_goodput"`
				} `json:"capacity"`
			}
			if err := json.Unmarshal(b, &doc); err != nil {
				t.Fatal(err)
			}
			if doc.Version != measure.AnalysisVersion || doc.Steps[0].Goodput.N != a.Repetitions || doc.Steps[0].Goodput.Of != "repetitions" || len(doc.Capacity.RepGoodput) != a.Repetitions {
				t.Errorf("summary.json: version %d, step 1 goodput n %d of %q, capacity samples %d; want %d, %d repetitions",
					doc.Version, doc.Steps[0].Goodput.N, doc.Steps[0].Goodput.Of, len(doc.Capacity.RepGoodput), measure.AnalysisVersion, a.Repetitions)
			}
		})
	}
}
