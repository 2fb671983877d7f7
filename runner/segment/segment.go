// Package segment owns how a ramp is split over N workers: the segment
// i/N a worker runs (`relaybench run --segment i/N`, k6's execution
// segments) and its share of every step's load.
//
// The split is exact: worker i of N gets load/N streams (or requests per
// second), and the first load%N workers one more, so the shares of a step
// add up to its load whatever N is. A worker whose share of a step is 0
// idles through that step and keeps its timing.
package segment

import (
	"fmt"
	"strconv"
	"strings"
)

// MaxCount is the most workers a ramp is split over. Each worker is a
// machine (or a pod) with its own tor clients, and `relaybench merge`
// holds every worker's records in memory; a thousand machines is far
// beyond what one relay can take.
const MaxCount = 1000

// Segment is worker Index (0-based) of Count.
type Segment struct {
	Index, Count int
}

// Parse reads "i/N": 0 <= i < N <= MaxCount.
func Parse(s string) (Segment, error) {
	is, ns, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return Segment{}, fmt.Errorf("%q is not i/N: give the worker's 0-based index and the number of workers, e.g. 0/3", s)
	}
	i, err := strconv.Atoi(is)
	if err != nil {
		return Segment{}, fmt.Errorf("%q: the index %q is not a whole number: give i/N, e.g. 0/3", s, is)
	}
	n, err := strconv.Atoi(ns)
	if err != nil {
		return Segment{}, fmt.Errorf("%q: the count %q is not a whole number: give i/N, e.g. 0/3", s, ns)
	}
	seg := Segment{Index: i, Count: n}
	return seg, seg.Validate()
}

// Validate checks 0 <= Index < Count <= MaxCount.
func (s Segment) Validate() error {
	switch {
	case s.Count < 1 || s.Count > MaxCount:
		return fmt.Errorf("segment %s: the number of workers must be 1 to %d", s, MaxCount)
	case s.Index < 0 || s.Index >= s.Count:
		return fmt.Errorf("segment %s: the index must be 0 to %d (indexes are 0-based)", s, s.Count-1)
	}
	return nil
}

// String is "i/N".
func (s Segment) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// Share is this worker's part of a step of the given load: load/Count,
// plus one for the first load%Count workers.
func (s Segment) Share(load int) int {
	share := load / s.Count
	if s.Index < load%s.Count {
		share++
	}
	return share
}

// Shares is Share of every step.
func (s Segment) Shares(loads []int) []int {
	out := make([]int, len(loads))
	for i, l := range loads {
		out[i] = s.Share(l)
	}
	return out
}

// FirstWorker is the index, in the whole step, of this segment's first
// closed-loop worker: the shares of the segments before it added up. A
// merged run renumbers each segment's workers by it, as one process
// running the whole load would have numbered them.
func (s Segment) FirstWorker(load int) int {
	n := 0
	for i := range s.Index {
		n += Segment{Index: i, Count: s.Count}.Share(load)
	}
	return n
}
