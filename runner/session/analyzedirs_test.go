package session

import (
	"testing"

	"github.com/relaybench/relaybench/measure"
	"github.com/relaybench/relaybench/reports"
)

// TestDirJudgements: a kept summary.json is not judged, report or not;
// analyze then fails closed on unjudged thresholds before failed ones;
// report judges no threshold.
func TestDirJudgements(t *testing.T) {
	recorded := []measure.StepResult{{Requests: 3, Bytes: 1000}}
	passed := &measure.Analysis{Steps: recorded, Gates: []measure.Gate{{Name: "max_error_rate", Passed: true}}}
	failed := &measure.Analysis{Steps: recorded, Gates: []measure.Gate{{Name: "min_capacity"}}}
	unjudged := &measure.Analysis{Gates: []measure.Gate{{Name: "min_capacity"}}}
	type dir struct {
		name string
		a    *measure.Analysis
		kept bool
	}
	for _, tc := range []struct {
		name         string
		dirs         []dir
		analyze, rep reports.Judgement
		analyzeSays  string
		reportSays   string
	}{
		{"passed", []dir{{"a", passed, false}, {"b", passed, false}}, reports.Passed, reports.Passed, "", ""},
		{"one failed", []dir{{"a", passed, false}, {"b", failed, false}, {"c", failed, false}}, reports.Failed, reports.Passed,
			"thresholds failed in b, c (see the FAIL lines above)", ""},
		{"unjudged before failed", []dir{{"a", failed, false}, {"b", unjudged, false}}, reports.NotJudged, reports.Passed,
			"not judged, so not passed: b (the run recorded no request)", ""},
		{"kept before all", []dir{{"a", failed, false}, {"b", unjudged, false}, {"c", passed, true}, {"d", failed, true}}, reports.NotJudged, reports.NotJudged,
			"the raw files of c, d are damaged: their summary.json of intact files was kept, and nothing judged",
			"the raw files of c, d are damaged: their summary.json of intact files was kept, and nothing judged"},
	} {
		var j dirJudgements
		for _, d := range tc.dirs {
			j.add(d.name, d.a, d.kept)
		}
		for _, c := range []struct {
			judge bool
			want  reports.Judgement
			says  string
		}{{true, tc.analyze, tc.analyzeSays}, {false, tc.rep, tc.reportSays}} {
			err := j.err(c.judge)
			if got := reports.JudgementOf(err); got != c.want || c.says == "" && err != nil || c.says != "" && (err == nil || err.Error() != c.says) {
				t.Errorf("%s (judge %v): judgement %d, %v; want %d, %q", tc.name, c.judge, got, err, c.want, c.says)
			}
		}
	}
}
