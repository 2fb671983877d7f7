package session

import (
	"context"
	"io"
	"sync"
	"time"

	"github.com/relaybench/relaybench/chutney"
	"github.com/relaybench/relaybench/runner/rundir"
)

// circuitLog writes rundir.CircuitRecords as they arrive and keeps when each
// circuit was first used.
type circuitLog struct {
	mu      sync.Mutex
	w       *rundir.Writer[rundir.CircuitRecord]
	fail    func(error)                // called with the first write error
	observe func(rundir.CircuitRecord) // sees each record written; may be nil
	used    map[string]time.Time
	built   []time.Time
	states  circuitStates
}

// recordCircuits watches every pool client's CIRC and STREAM events until
// ctx ends, writing the circuits built, failed and first used to out
// (circuits.jsonl); observe (may be nil) sees each record written, and the
// first write error goes to fail. The caller closes out.
func recordCircuits(ctx context.Context, clients []*chutney.Client, out io.Writer, fail func(error), observe func(rundir.CircuitRecord)) (*circuitLog, error) {
	w := rundir.NewWriter[rundir.CircuitRecord](out, rundir.CircuitsFile)
	l := &circuitLog{w: w, fail: fail, observe: observe, used: map[string]time.Time{}, states: circuitStates{}}
	for _, c := range clients {
		err := c.WatchCircuitEvents(ctx, func(circ chutney.Circuit, at time.Time) {
			l.mu.Lock()
			event := l.states.event(c.Name, circ)
			l.mu.Unlock()
			if event == "" {
				return
			}
			rec := rundir.CircuitRecord{Time: at.UTC(), Client: c.Name, Event: event, ID: circ.ID, Path: circ.Path}
			if event == rundir.CircuitFailed {
				rec.Reason = circ.Reason
			}
			l.write(rec, func() {
				if event == rundir.CircuitBuilt {
					l.built = append(l.built, at)
				}
			})
		})
		if err == nil {
			err = c.WatchStreams(ctx, func(id string, at time.Time) {
				key := c.Name + "/" + id
				l.mu.Lock()
				_, seen := l.used[key]
				l.mu.Unlock()
				if !seen {
					l.write(rundir.CircuitRecord{Time: at.UTC(), Client: c.Name, Event: rundir.CircuitUsed, ID: id}, func() { l.used[key] = at })
				}
			})
		}
		if err != nil {
			return nil, err
		}
	}
	return l, nil
}

func (l *circuitLog) write(rec rundir.CircuitRecord, note func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.w.Write(rec); err != nil {
		l.fail(err)
		return
	}
	note()
	if l.observe != nil {
		l.observe(rec)
	}
}

// usedBetween counts the circuits whose first stream opened in [from, to).
func (l *circuitLog) usedBetween(from, to time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, t := range l.used {
		if !t.Before(from) && t.Before(to) {
			n++
		}
	}
	return n
}

// circuitStates follows each circuit's CIRC events to tell built from
// failed: tor sends FAILED for a circuit closed before it was built, and a
// CLOSED of a circuit seen LAUNCHED but never BUILT (nor FAILED) is a
// failure too. A CLOSED of a circuit built before the watch began is not:
// only circuits seen launched count as attempts that closed unbuilt.
type circuitStates map[string]string // client/ID -> the last status that counts

// event returns the circuits.jsonl event that circ's status makes, or "".
func (s circuitStates) event(client string, circ chutney.Circuit) string {
	key := client + "/" + circ.ID
	switch circ.Status {
	case "LAUNCHED":
		s[key] = "LAUNCHED"
	case "BUILT":
		s[key] = "BUILT"
		return rundir.CircuitBuilt
	case "FAILED":
		prev := s[key]
		s[key] = "FAILED" // until its CLOSED, so that it is not counted twice
		if prev != "FAILED" && prev != "BUILT" {
			return rundir.CircuitFailed
		}
	case "CLOSED":
		prev, seen := s[key]
		delete(s, key)
		if seen && prev == "LAUNCHED" {
			return rundir.CircuitFailed
		}
	}
	return ""
}
