package rundir

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
)

// Run is the raw data of one run directory, read back.
type Run struct {
	// Dir is the run directory.
	Dir string
	// Info is nil for a run directory without run.json.
	Info *RunInfo
	// Steps are the step summaries the runner wrote (none when steps.jsonl
	// is missing).
	Steps     []StepSummary
	Records   []Record
	Metrics   []ScrapeRecord
	Processes []ProcessSample
	Circuits  []CircuitRecord
	// Truncated names the raw files whose last line was cut short (a crash
	// while writing it); that line was dropped. It is not a Problem.
	Truncated []string
	// Problems lists what was missing or damaged; whoever reads the run
	// goes on with what is there and reports them.
	Problems []string
}

// Read reads the raw files of run directory dir (not the scenario, whose
// type belongs to package scenarios). Only requests.jsonl is required;
// every other file missing is left out, and one that cannot be read or is
// damaged becomes a Problem, keeping the records before the damage.
func Read(dir string) (*Run, error) {
	r := &Run{Dir: dir}
	reqs, err := ReadFile[Record](dir, RequestsFile)
	var lineErr *LineError
	if err != nil && !errors.As(err, &lineErr) {
		return nil, fmt.Errorf("read requests of run %s: %w", dir, err)
	}
	r.Records = reqs.Records
	r.note(RequestsFile, reqs.TruncatedLast, err)

	var info RunInfo
	switch err := ReadJSON(filepath.Join(dir, RunInfoFile), &info); {
	case err == nil:
		r.Info = &info
	case !errors.Is(err, fs.ErrNotExist):
		r.Problems = append(r.Problems, err.Error())
	}
	r.Steps = readOptional[StepSummary](r, StepsFile)
	r.Processes = readOptional[ProcessSample](r, ProcessesFile)
	r.Circuits = readOptional[CircuitRecord](r, CircuitsFile)
	r.Metrics = readOptional[ScrapeRecord](r, MetricsFile)
	return r, nil
}

// readOptional reads a raw file that may be missing.
func readOptional[T any](r *Run, name string) []T {
	lines, err := ReadFile[T](r.Dir, name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	r.note(name, lines.TruncatedLast, err)
	return lines.Records
}

func (r *Run) note(name string, truncated bool, err error) {
	if truncated {
		r.Truncated = append(r.Truncated, name)
	}
	if err != nil {
		r.Problems = append(r.Problems, err.Error())
	}
}

// WriteRunInfo writes dir/run.json, replacing it atomically so that a
// crash never leaves half a file.
func WriteRunInfo(dir string, info RunInfo) error {
	info.Version = RunInfoVersion
	return WriteJSON(filepath.Join(dir, RunInfoFile), info)
}

// ReadRunInfo reads dir/run.json.
func ReadRunInfo(dir string) (*RunInfo, error) {
	var info RunInfo
	if err := ReadJSON(filepath.Join(dir, RunInfoFile), &info); err != nil {
		return nil, err
	}
	return &info, nil
}
