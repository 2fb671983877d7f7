package session

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/relaybench/relaybench/measure"
	"github.com/relaybench/relaybench/reports"
	"github.com/relaybench/relaybench/runner/stopsignal"
)

// TestJudge: every way a run can end, and the judgement and words it gets.
func TestJudge(t *testing.T) {
	passed := measure.Gate{Name: "max_error_rate", Passed: true}
	failed := measure.Gate{Name: "min_capacity"}
	recorded := []measure.StepResult{{Requests: 3, Bytes: 1000}}
	runFailed := errors.New("tor did not start")
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		res  *Result
		err  error
		want reports.Judgement
		says string // "" for a nil error
	}{
		{"no gates", context.Background(), &Result{Dir: "d", Analysis: &measure.Analysis{Steps: recorded}}, nil, reports.Passed, ""},
		{"gates passed", context.Background(), &Result{Dir: "d", Analysis: &measure.Analysis{Steps: recorded, Gates: []measure.Gate{passed}}}, nil, reports.Passed, ""},
		{"a gate failed", context.Background(), &Result{Dir: "d", Analysis: &measure.Analysis{Steps: recorded, Gates: []measure.Gate{passed, failed}}}, nil,
			reports.Failed, "1 threshold(s) of scenario sc failed (see the FAIL lines above)"},
		{"nothing recorded", context.Background(), &Result{Dir: "d", Analysis: &measure.Analysis{Gates: []measure.Gate{passed}}}, nil,
			reports.NotJudged, "the thresholds of scenario sc were not judged: the run recorded no request"},
		{"a variant failed", context.Background(), &Result{Dir: "d", Ranking: &reports.Ranking{Entries: []reports.RankEntry{{Variant: "a"}, {Variant: "b", Failed: []string{"min_capacity", "max_p95_ttfb"}}}}}, nil,
			reports.Failed, "variant b failed thresholds: min_capacity, max_p95_ttfb"},
		{"the run failed", context.Background(), &Result{Dir: "d", Analysis: &measure.Analysis{Gates: []measure.Gate{failed}}}, runFailed, reports.Passed, runFailed.Error()},
		{"no run directory", context.Background(), nil, runFailed, reports.Passed, runFailed.Error()},
		{"canceled", canceled, &Result{Dir: "d"}, context.Canceled, reports.Passed, "interrupted: the run stopped early; every request measured so far is in d"},
	} {
		err := Judge(tc.ctx, "sc", tc.res, tc.err)
		if got := reports.JudgementOf(err); got != tc.want || tc.says == "" && err != nil || tc.says != "" && (err == nil || err.Error() != tc.says) {
			t.Errorf("%s: judgement %d, %v; want %d, %q", tc.name, got, err, tc.want, tc.says)
		}
	}
}

// TestJudgeSignalled: a run that a signal stopped is interrupted by it,
// whatever else failed, and one that did not fail at all is judged as usual.
func TestJudgeSignalled(t *testing.T) {
	ctx, stop := stopsignal.Context()
	defer stop()
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("SIGHUP did not end the context")
	}
	failed := &Result{Dir: "d", Analysis: &measure.Analysis{Steps: []measure.StepResult{{Requests: 3, Bytes: 1000}}, Gates: []measure.Gate{{Name: "min_capacity"}}}}
	var in *stopsignal.Interrupted
	err := Judge(ctx, "sc", failed, nil)
	if !errors.As(err, &in) || in.Signal != syscall.SIGHUP || !strings.HasPrefix(err.Error(), "interrupted by SIGHUP: ") || !strings.HasSuffix(err.Error(), "the run stopped early; every request measured so far is in d") {
		t.Errorf("a failed gate after SIGHUP: %v, want interrupted by SIGHUP naming d", err)
	}
	if err := Judge(ctx, "sc", nil, context.Cause(ctx)); !errors.As(err, &in) || strings.Contains(err.Error(), "measured so far") {
		t.Errorf("no run directory: %v, want interrupted without a directory", err)
	}
	if err := Judge(ctx, "sc", &Result{Dir: "d"}, nil); err != nil {
		t.Errorf("a run that ended well despite the signal: %v", err)
	}
}
