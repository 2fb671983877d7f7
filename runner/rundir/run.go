package rundir

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// ErrNotRunDir is wrapped by the errors of readers given a directory that
// is not a run directory at all.
var ErrNotRunDir = errors.New("not a relaybench run directory")

// ErrDamaged matches (errors.Is) the errors of readers whose input is
// damaged or missing: a file that does not decode, a required file that is
// not there, a version this relaybench does not read. Nothing judged on
// such input may pass.
var ErrDamaged = errors.New("damaged or missing input")

// Damaged marks err as damaged input: errors.Is(Damaged(err), ErrDamaged)
// holds, and the message is err's.
func Damaged(err error) error {
	if err == nil {
		return nil
	}
	return damagedError{err}
}

type damagedError struct{ error }

func (e damagedError) Unwrap() error        { return e.error }
func (e damagedError) Is(target error) bool { return target == ErrDamaged }

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
	// Problems lists what is missing or damaged: lines that did not
	// decode (skipped, see BadLinesError), files that could not be read, a
	// run.json of a version this package does not know. Whoever reads the
	// run goes on with what is there, reports them, and judges no gate or
	// regression on it: the data is incomplete.
	Problems []string
	// Notes are worth saying about the raw files but are not damage: a
	// raw file that is there but empty, say.
	Notes []string
	// Missing names the optional raw files that are not there (left out
	// of a copy to save space, say).
	Missing []string
}

// SummaryOnly reports whether dir keeps a run's summary.json without its
// raw requests.jsonl: raw files deleted to save space, or a copy of the
// summary alone. Such a run can be read back from its summary only.
func SummaryOnly(dir string) bool {
	_, rerr := os.Stat(filepath.Join(dir, RequestsFile))
	_, serr := os.Stat(filepath.Join(dir, SummaryFile))
	return errors.Is(rerr, fs.ErrNotExist) && serr == nil
}

// Read reads the raw files of run directory dir (not the scenario, whose
// type belongs to package scenarios). Only requests.jsonl is required;
// every other file missing is left out, one that cannot be read or is
// damaged becomes a Problem (its lines that decode are kept), and one
// that is empty becomes a Note.
func Read(dir string) (*Run, error) {
	r := &Run{Dir: dir}
	reqs, err := ReadFile[Record](dir, RequestsFile)
	var damage *BadLinesError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, Damaged(fmt.Errorf("%s has no %s: the run recorded no request (it failed or was stopped before its load started)", dir, RequestsFile))
	case err != nil && !errors.As(err, &damage):
		return nil, Damaged(fmt.Errorf("read requests of run %s: %w", dir, err))
	}
	r.Records = reqs.Records
	r.note(RequestsFile, reqs.TruncatedLast, err)
	if len(r.Records) == 0 && err == nil {
		// Not a Problem: a run stopped before its first request ended has
		// none. What it means for the analysis is the analysis' to say.
		r.Notes = append(r.Notes, fmt.Sprintf("%s is empty: no request was recorded", RequestsFile))
	}
	switch info, err := ReadRunInfo(dir); {
	case err == nil:
		r.Info = info
	case !errors.Is(err, fs.ErrNotExist):
		r.Problems = append(r.Problems, err.Error())
	}
	r.Steps = readOptional[StepSummary](r, StepsFile)
	r.Processes = readOptional[ProcessSample](r, ProcessesFile)
	r.Circuits = readOptional[CircuitRecord](r, CircuitsFile)
	r.Metrics = readOptional[ScrapeRecord](r, MetricsFile)
	return r, nil
}

// readOptional reads a raw file that may be missing; one that is there
// but holds no record gets a Note.
func readOptional[T any](r *Run, name string) []T {
	lines, err := ReadFile[T](r.Dir, name)
	if errors.Is(err, fs.ErrNotExist) {
		r.Missing = append(r.Missing, name)
		return nil
	}
	r.note(name, lines.TruncatedLast, err)
	if len(lines.Records) == 0 && err == nil && !(name == CircuitsFile && !r.hadClients()) {
		r.Notes = append(r.Notes, fmt.Sprintf("%s is empty", name))
	}
	return lines.Records
}

// hadClients reports whether run.json lists tor clients of relaybench's
// pool: without them (a socks target) circuits.jsonl stays empty.
func (r *Run) hadClients() bool {
	if r.Info == nil {
		return true
	}
	for _, m := range r.Info.Metrics {
		if m.Role == RoleClient {
			return true
		}
	}
	return false
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
//
// On a full disk there is no room for the temporary file of an atomic
// write, but run.json's own blocks are still there: it is then
// overwritten in place, so that how the run ended (a full disk, say)
// reaches it; a crash in that moment is the lesser risk.
func WriteRunInfo(dir string, info RunInfo) error {
	info.Version = RunInfoVersion
	path := filepath.Join(dir, RunInfoFile)
	err := WriteJSON(path, info)
	if !errors.Is(err, syscall.ENOSPC) {
		return err
	}
	b, merr := json.MarshalIndent(info, "", "  ")
	if merr != nil {
		return err
	}
	f, oerr := os.OpenFile(path, os.O_WRONLY, 0)
	if oerr != nil {
		return err
	}
	defer f.Close()
	if _, werr := f.WriteAt(append(b, '\n'), 0); werr != nil {
		return err
	}
	if terr := f.Truncate(int64(len(b) + 1)); terr != nil {
		return err
	}
	return nil
}

// ReadRunInfo reads dir/run.json. One of a version this package does not
// know (newer, or none) is refused: its fields may not mean what RunInfo
// says.
func ReadRunInfo(dir string) (*RunInfo, error) {
	var info RunInfo
	if err := ReadJSON(filepath.Join(dir, RunInfoFile), &info); err != nil {
		return nil, err
	}
	if err := CheckVersion(RunInfoFile, info.Version, 1, RunInfoVersion); err != nil {
		return nil, err
	}
	return &info, nil
}

// VersionError reports a file whose schema version this relaybench does
// not read.
type VersionError struct {
	File string
	// Version is the file's; Oldest and Newest the versions read.
	Version, Oldest, Newest int
}

// Error says which versions are read and what to do.
func (e *VersionError) Error() string {
	if e.Version > e.Newest {
		return fmt.Sprintf("%s is version %d, newer than this relaybench reads (%d): use the relaybench that wrote it, or a newer one", e.File, e.Version, e.Newest)
	}
	return fmt.Sprintf("%s has version %d, which no relaybench wrote (this one reads %d to %d): it is damaged or not relaybench's", e.File, e.Version, e.Oldest, e.Newest)
}

// Is makes a VersionError match ErrDamaged: the file cannot be read.
func (e *VersionError) Is(target error) bool { return target == ErrDamaged }

// CheckVersion returns a *VersionError unless oldest <= version <= newest.
func CheckVersion(file string, version, oldest, newest int) error {
	if version < oldest || version > newest {
		return &VersionError{File: file, Version: version, Oldest: oldest, Newest: newest}
	}
	return nil
}

// Written says which files of run directory dir were written: derived
// names the non-empty reports (and the variants directory) in a fixed
// order, and raw is true when some raw file is non-empty. A run that
// could not write its reports (a full disk, say) must not announce them.
func Written(dir string) (derived []string, raw bool) {
	for _, name := range []string{HTMLFile, MarkdownFile, StepsCSVFile, SummaryFile, BenchFile,
		ComparisonMarkdownFile, ComparisonJSONFile, VariantsDir} {
		if st, err := os.Stat(filepath.Join(dir, name)); err == nil && (st.IsDir() || st.Size() > 0) {
			derived = append(derived, name)
		}
	}
	for _, name := range []string{RequestsFile, StepsFile, MetricsFile, ProcessesFile} {
		if st, err := os.Stat(filepath.Join(dir, name)); err == nil && st.Size() > 0 {
			raw = true
		}
	}
	return derived, raw
}

// ResultsLine says in one line where the results of the run in dir are:
// the files Written names, so that a run that could not write its reports
// (a full disk, say) does not announce them.
func ResultsLine(dir string) string {
	derived, raw := Written(dir)
	switch {
	case len(derived) == 0 && !raw:
		return fmt.Sprintf("nothing was measured; the run directory is %s", dir)
	case len(derived) == 0:
		return fmt.Sprintf("no report was written; the raw files are in %s", dir)
	case raw:
		return fmt.Sprintf("results in %s: %s and the raw files", dir, strings.Join(derived, ", "))
	}
	return fmt.Sprintf("results in %s: %s", dir, strings.Join(derived, ", "))
}
