package measure

import (
	"github.com/relaybench/relaybench/runner/rundir"
	"github.com/relaybench/relaybench/scenarios"
)

// LiveRelay is what the analysis of a relay target (target.kind relay)
// adds for its operator: how the run knew that they run the relay. The
// verdict words it with what the test does to the relay beyond the run.
type LiveRelay struct {
	// Proof is run.json's relay_proof; nil for a run from before
	// relaybench asked for one.
	Proof *rundir.RelayProof `json:"proof,omitempty"`
	// Succeeded counts the run's successful requests, warm-up included;
	// Verified those among them whose body was relaybench's payload,
	// checked byte for byte (requests.jsonl "verified"). Through exits
	// the operator does not run, a body that is not verified may be
	// anything that answered the URL.
	Succeeded int `json:"succeeded"`
	Verified  int `json:"verified"`
}

// liveRelay is the LiveRelay of r, nil unless its target is a relay.
func liveRelay(r *Run) *LiveRelay {
	if r.Scenario == nil || r.Scenario.Target.Kind != scenarios.TargetRelay {
		return nil
	}
	l := &LiveRelay{}
	if r.Info != nil {
		l.Proof = r.Info.RelayProof
	}
	for i := range r.Records {
		if r.Records[i].OK() {
			l.Succeeded++
			if r.Records[i].Verified {
				l.Verified++
			}
		}
	}
	return l
}

// onsetAbort is run.json's onset_abort of r: where onset.abort stopped it.
func onsetAbort(r *Run) *rundir.OnsetAbort {
	if r.Info == nil {
		return nil
	}
	return r.Info.OnsetAbort
}
