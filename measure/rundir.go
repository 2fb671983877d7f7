package measure

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/relaybench/relaybench/measure/metricsport"
	"github.com/relaybench/relaybench/measure/procstat"
	"github.com/relaybench/relaybench/runner"
	"github.com/relaybench/relaybench/scenarios"
)

// The files of a run directory. Everything but summary.json is raw data,
// streamed to disk while the run goes; summary.json is derived from them.
const (
	// ScenarioFile is the scenario as run, defaults filled in.
	ScenarioFile = "scenario.yaml"
	// RunInfoFile describes the run: when, what was sampled, how it ended.
	RunInfoFile = "run.json"
	// RequestsFile holds one runner.Record per request.
	RequestsFile = "requests.jsonl"
	// StepsFile holds one runner.StepSummary per step, written as each
	// step ends: the step boundaries the analysis needs.
	StepsFile = "steps.jsonl"
	// MetricsFile holds one metricsport.ScrapeRecord per scrape.
	MetricsFile = "metrics.jsonl"
	// ProcessesFile holds procstat.Sample lines.
	ProcessesFile = "processes.jsonl"
	// CircuitsFile holds CircuitRecord lines.
	CircuitsFile = "circuits.jsonl"
	// SummaryFile is the analysis (see Analysis), rewritten by
	// `relaybench analyze`.
	SummaryFile = "summary.json"
)

// RunInfoVersion is the version of the run.json schema.
const RunInfoVersion = 1

// RunInfo is run.json: what the raw files alone do not say.
type RunInfo struct {
	Version int `json:"version"`
	// Scenario is the scenario's name.
	Scenario string `json:"scenario"`
	// Variant is the variant this directory holds, empty without variants.
	Variant string `json:"variant,omitempty"`
	// Started is when the run directory was created; Finished when the run
	// ended (zero while it runs or when it crashed).
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished,omitzero"`
	// StoppedBy is the last repetition's runner.Summary.StoppedBy.
	StoppedBy string `json:"stopped_by,omitempty"`
	// Error is why the run failed, empty when it did not.
	Error string `json:"error,omitempty"`
	// Warnings are what went wrong without stopping the run, e.g. a tor
	// client of the pool that did not bootstrap.
	Warnings []string `json:"warnings,omitempty"`
	// Metrics lists the MetricsPort URLs sampled and what is behind each.
	Metrics []MetricsEndpoint `json:"metrics,omitempty"`
}

// Roles of a MetricsEndpoint.
const (
	// RoleTarget is the relay under test.
	RoleTarget = "target"
	// RoleClient is one of relaybench's tor clients.
	RoleClient = "client"
	// RoleOther is a URL the scenario listed in sampling.metrics_urls.
	RoleOther = "other"
)

// MetricsEndpoint is one sampled MetricsPort.
type MetricsEndpoint struct {
	URL  string `json:"url"`
	Name string `json:"name"`
	// Role is RoleTarget, RoleClient or RoleOther.
	Role string `json:"role"`
}

// WriteRunInfo writes run.json into dir, replacing it atomically so that a
// crash never leaves half a file.
func WriteRunInfo(dir string, info RunInfo) error {
	info.Version = RunInfoVersion
	return writeJSONAtomic(filepath.Join(dir, RunInfoFile), info)
}

// ReadRunInfo reads dir/run.json.
func ReadRunInfo(dir string) (*RunInfo, error) {
	var info RunInfo
	if err := readJSON(filepath.Join(dir, RunInfoFile), &info); err != nil {
		return nil, err
	}
	return &info, nil
}

func writeJSONAtomic(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// CircuitRecord is one line of circuits.jsonl: a circuit a pool client
// built, or the first stream a circuit carried.
type CircuitRecord struct {
	Time   time.Time `json:"t"`
	Client string    `json:"client"`
	// Event is CircuitBuilt or CircuitUsed.
	Event string   `json:"event"`
	ID    string   `json:"id"`
	Path  []string `json:"path,omitempty"`
}

// Events of a CircuitRecord.
const (
	// CircuitBuilt is tor's CIRC BUILT event.
	CircuitBuilt = "built"
	// CircuitUsed is the circuit's first STREAM SUCCEEDED of a SOCKS stream.
	CircuitUsed = "used"
)

// Run is the raw data of one run directory.
type Run struct {
	// Dir is the run directory.
	Dir      string
	Scenario *scenarios.Scenario
	// Info is nil for a run directory without run.json.
	Info *RunInfo
	// Steps are the step summaries the runner wrote; when steps.jsonl is
	// missing they are inferred from the records (see Load).
	Steps     []runner.StepSummary
	Records   []runner.Record
	Metrics   []metricsport.ScrapeRecord
	Processes []procstat.Sample
	Circuits  []CircuitRecord
	// Problems lists what was missing or damaged; the analysis goes on
	// with what is there and reports them.
	Problems []string
}

// Load reads a run directory. Only scenario.yaml and requests.jsonl are
// required; every other file missing or damaged becomes a Problem and the
// part of the analysis that needs it is left out. A damaged last line (a
// crash mid-write) is ignored silently.
func Load(dir string) (*Run, error) {
	r := &Run{Dir: dir}
	sc, invalid, err := scenarios.LoadRun(filepath.Join(dir, ScenarioFile))
	if err != nil {
		return nil, fmt.Errorf("%s is not a relaybench run directory (or its scenario is damaged): %w", dir, err)
	}
	r.Scenario = sc
	if invalid != nil {
		r.Problems = append(r.Problems, fmt.Sprintf("the recorded scenario breaks a current rule (%v); analysed as it ran", invalid))
	}

	f, err := os.Open(filepath.Join(dir, RequestsFile))
	if err != nil {
		return nil, fmt.Errorf("read requests of run %s: %w", dir, err)
	}
	r.Records, err = runner.ReadRecords(f)
	f.Close()
	if err != nil {
		r.Problems = append(r.Problems, err.Error())
	}

	var info RunInfo
	switch err := readJSON(filepath.Join(dir, RunInfoFile), &info); {
	case err == nil:
		r.Info = &info
	case !errors.Is(err, fs.ErrNotExist):
		r.Problems = append(r.Problems, err.Error())
	}

	r.Steps = readLines[runner.StepSummary](r, StepsFile)
	if len(r.Steps) == 0 {
		r.Steps = inferSteps(r.Records, sc.Ramp.Warmup.Std())
		if len(r.Steps) > 0 {
			r.Problems = append(r.Problems, "steps.jsonl is missing or empty: step boundaries were inferred from the requests")
		}
	}
	r.Processes = readLines[procstat.Sample](r, ProcessesFile)
	r.Circuits = readLines[CircuitRecord](r, CircuitsFile)

	if mf, err := os.Open(filepath.Join(dir, MetricsFile)); err == nil {
		r.Metrics, err = metricsport.ReadMetricsLog(mf)
		mf.Close()
		if err != nil {
			r.Problems = append(r.Problems, err.Error())
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		r.Problems = append(r.Problems, err.Error())
	}
	return r, nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s is damaged: %w", filepath.Base(path), err)
	}
	return nil
}

// readLines reads a JSON-lines file of T; a missing file yields nothing,
// a damaged line a Problem (the lines before it are kept).
func readLines[T any](r *Run, name string) []T {
	f, err := os.Open(filepath.Join(r.Dir, name))
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			r.Problems = append(r.Problems, err.Error())
		}
		return nil
	}
	defer f.Close()
	out, err := decodeLines[T](f)
	if err != nil {
		r.Problems = append(r.Problems, fmt.Sprintf("%s: %v", name, err))
	}
	return out
}

func decodeLines[T any](rd io.Reader) ([]T, error) {
	var out []T
	br := bufio.NewReaderSize(rd, 64<<10)
	for line := 1; ; line++ {
		b, err := br.ReadBytes('\n')
		complete := len(b) > 0 && b[len(b)-1] == '\n'
		if b = bytes.TrimSpace(b); len(b) > 0 {
			var v T
			if jerr := json.Unmarshal(b, &v); jerr != nil {
				if !complete {
					return out, nil // a crash mid-write leaves a partial last line
				}
				return out, fmt.Errorf("line %d is damaged (%w); the lines before it are used", line, jerr)
			}
			out = append(out, v)
		}
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

// inferSteps rebuilds step boundaries from the records of a run whose
// steps.jsonl is missing: each step spans its records.
func inferSteps(recs []runner.Record, warmup time.Duration) []runner.StepSummary {
	type key struct{ rep, step int }
	byKey := map[key]*runner.StepSummary{}
	var order []key
	for _, rec := range recs {
		k := key{rec.Repetition, rec.Step}
		s := byKey[k]
		if s == nil {
			s = &runner.StepSummary{Repetition: rec.Repetition, Step: rec.Step, Load: rec.Load, Start: rec.Start, End: rec.End()}
			byKey[k] = s
			order = append(order, k)
		}
		if rec.Start.Before(s.Start) {
			s.Start = rec.Start
		}
		if e := rec.End(); e.After(s.End) {
			s.End = e
		}
	}
	out := make([]runner.StepSummary, 0, len(order))
	for _, k := range order {
		s := byKey[k]
		s.WarmupEnd = s.Start.Add(warmup)
		out = append(out, *s)
	}
	sortSteps(out)
	return out
}

// WriteSummary writes a as dir/summary.json.
func WriteSummary(dir string, a *Analysis) error {
	return writeJSONAtomic(filepath.Join(dir, SummaryFile), a)
}

// ReadSummary reads dir/summary.json, upgraded to the current schema
// version (see upgradeSummary).
func ReadSummary(dir string) (*Analysis, error) {
	var a Analysis
	if err := readJSON(filepath.Join(dir, SummaryFile), &a); err != nil {
		return nil, err
	}
	upgradeSummary(&a)
	return &a, nil
}
