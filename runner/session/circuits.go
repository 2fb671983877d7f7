package session

import (
	"context"
	"sync"
	"time"

	"github.com/relaybench/relaybench/chutney"
	"github.com/relaybench/relaybench/runner/rundir"
)

// circuitLog writes rundir.CircuitRecords as they arrive and keeps when each
// circuit was first used.
type circuitLog struct {
	mu    sync.Mutex
	w     *rundir.Writer[rundir.CircuitRecord]
	fail  func(error) // called with the first write error
	used  map[string]time.Time
	built []time.Time
}

// recordCircuits watches every pool client's CIRC and STREAM events until
// ctx ends, writing them to dir's circuits.jsonl; the first write error
// goes to fail.
func recordCircuits(ctx context.Context, clients []*chutney.Client, dir string, fail func(error)) (*circuitLog, error) {
	w, err := rundir.Append[rundir.CircuitRecord](dir, rundir.CircuitsFile)
	if err != nil {
		return nil, err
	}
	l := &circuitLog{w: w, fail: fail, used: map[string]time.Time{}}
	for _, c := range clients {
		err := c.WatchCircuits(ctx, func(circ chutney.Circuit, at time.Time) {
			l.write(rundir.CircuitRecord{Time: at.UTC(), Client: c.Name, Event: rundir.CircuitBuilt, ID: circ.ID, Path: circ.Path}, func() {
				l.built = append(l.built, at)
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
			w.Close()
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

// Close closes the file.
func (l *circuitLog) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Close()
}
