package session

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/relaybench/relaybench/measure"
	"github.com/relaybench/relaybench/reports"
	"github.com/relaybench/relaybench/runner/rundir"
)

// AnalyzeDirs analyses each of dirs (AnalyzeDir) in turn, which is
// `relaybench analyze` (judge) and `relaybench report` (not judge), and
// writes to w each one's verdict and what it wrote. It stops at the first
// directory it cannot analyse, with that error. Then it fails closed: a
// directory whose summary.json was kept (its raw files are damaged) is not
// judged, report or not; with judge, a run whose thresholds could not be
// judged is reports.NotJudged and one whose thresholds failed is
// reports.Failed, in that order.
func AnalyzeDirs(w io.Writer, dirs []string, judge bool) error {
	var j dirJudgements
	for i, dir := range dirs {
		if i > 0 {
			fmt.Fprintln(w)
		}
		a, err := AnalyzeDir(dir)
		if a == nil {
			return err
		}
		if terr := reports.Terminal(w, a); terr != nil {
			return terr
		}
		kept := errors.Is(err, ErrSummaryKept)
		switch {
		case kept:
			fmt.Fprintf(w, "%v\n", err)
		case err != nil:
			return err
		default:
			fmt.Fprintf(w, "wrote %s and the reports (%s, %s, %s, %s)\n", filepath.Join(dir, rundir.SummaryFile),
				rundir.StepsCSVFile, rundir.MarkdownFile, rundir.HTMLFile, rundir.BenchFile)
		}
		j.add(dir, a, kept)
	}
	return j.err(judge)
}

// dirJudgements are the judgements of the run directories AnalyzeDirs
// analysed: those whose summary.json it kept, whose thresholds it could
// not judge, and whose thresholds failed.
type dirJudgements struct{ kept, unjudged, failed []string }

// add notes the analysis a of dir; kept says that dir's summary.json was
// kept, so a was not written and is not judged.
func (j *dirJudgements) add(dir string, a *measure.Analysis, kept bool) {
	switch {
	case kept:
		j.kept = append(j.kept, dir)
	case len(a.Unjudged()) > 0:
		j.unjudged = append(j.unjudged, fmt.Sprintf("%s (%s)", dir, strings.Join(a.Unjudged(), "; ")))
	case len(a.Failed()) > 0:
		j.failed = append(j.failed, dir)
	}
}

// err is the judgement of the directories as an error (see AnalyzeDirs).
func (j *dirJudgements) err(judge bool) error {
	switch {
	case len(j.kept) > 0:
		return reports.Judged(reports.NotJudged, fmt.Errorf("the raw files of %s are damaged: their summary.json of intact files was kept, and nothing judged", strings.Join(j.kept, ", ")))
	case !judge:
		return nil
	case len(j.unjudged) > 0:
		return reports.Judged(reports.NotJudged, fmt.Errorf("not judged, so not passed: %s", strings.Join(j.unjudged, ", ")))
	case len(j.failed) > 0:
		return reports.Judged(reports.Failed, fmt.Errorf("thresholds failed in %s (see the FAIL lines above)", strings.Join(j.failed, ", ")))
	}
	return nil
}
