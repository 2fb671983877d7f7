package merge

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/relaybench/relaybench/runner/rundir"
)

// write writes m into dir: the raw files, scenario.yaml and env.json
// copied from the workers, and run.json last, so that a merge that failed
// half way leaves a directory without run.json, which merge and the
// analysis take for what it is.
func (m *run) write(dir string, ws []*worker) error {
	if err := copyFile(ws[0].dir, dir, rundir.ScenarioFile); err != nil {
		return err
	}
	envFrom := ""
	for _, w := range ws {
		if w.seg.ScrapesRelay {
			envFrom = w.dir
			break
		}
	}
	if envFrom != "" {
		switch err := copyFile(envFrom, dir, rundir.EnvFile); {
		case errors.Is(err, fs.ErrNotExist):
			m.info.Warnings = append(m.info.Warnings, fmt.Sprintf("%s has no %s: the merged run has none", envFrom, rundir.EnvFile))
		case err != nil:
			return err
		}
	}
	if err := writeLines(dir, rundir.RequestsFile, m.records); err != nil {
		return err
	}
	if err := writeLines(dir, rundir.StepsFile, m.steps); err != nil {
		return err
	}
	if len(m.metrics) > 0 {
		if err := writeLines(dir, rundir.MetricsFile, m.metrics); err != nil {
			return err
		}
	}
	if err := writeLines(dir, rundir.ProcessesFile, m.processes); err != nil {
		return err
	}
	if len(m.circuits) > 0 {
		if err := writeLines(dir, rundir.CircuitsFile, m.circuits); err != nil {
			return err
		}
	}
	return rundir.WriteRunInfo(dir, m.info)
}

func writeLines[T any](dir, name string, recs []T) error {
	w, err := rundir.Append[T](dir, name)
	if err != nil {
		return err
	}
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			w.Close()
			return err
		}
	}
	return w.Close()
}

func copyFile(from, to, name string) error {
	b, err := os.ReadFile(filepath.Join(from, name))
	if err != nil {
		return err
	}
	return rundir.WriteFileAtomic(filepath.Join(to, name), b, 0o644)
}
