package merge

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/relaybench/relaybench/runner"
	"github.com/relaybench/relaybench/runner/rundir"
	"github.com/relaybench/relaybench/scenarios"
)

// run is the merged run, ready to be written.
type run struct {
	info      rundir.RunInfo
	steps     []rundir.StepSummary
	records   []rundir.Record
	metrics   []rundir.ScrapeRecord
	processes []rundir.ProcessSample
	circuits  []rundir.CircuitRecord
}

// merged combines ws, sorted by segment.
func merged(ws []*worker) *run {
	m := &run{}
	m.info = mergedInfo(ws)
	loads := m.mergeSteps(ws)
	m.mergeRecords(ws, loads)
	byKey := map[rundir.StepKey][]rundir.Record{}
	for _, r := range m.records {
		k := r.StepKey
		byKey[k] = append(byKey[k], r)
	}
	for i := range m.steps {
		s := &m.steps[i]
		runner.StepLatencies(s, byKey[s.StepKey])
	}
	m.mergeSamples(ws)
	return m
}

// mergeSteps sums the workers' steps on aligned seconds (see the package
// doc) and returns each step's merged load: the sum of the shares of the
// workers that ran it.
func (m *run) mergeSteps(ws []*worker) map[rundir.StepKey]int {
	byKey := map[rundir.StepKey][]workerStep{}
	for _, w := range ws {
		for _, s := range w.run.Steps {
			k := s.StepKey
			byKey[k] = append(byKey[k], workerStep{w, s})
		}
	}
	keys := slices.SortedFunc(maps.Keys(byKey), rundir.StepKey.Compare)
	loads := map[rundir.StepKey]int{}
	bound := startBound(ws)
	for _, k := range keys {
		s, spread := sumStep(byKey[k])
		loads[k] = s.Load
		m.steps = append(m.steps, s)
		m.info.Merged.MaxStartSpread = max(m.info.Merged.MaxStartSpread, spread)
		if spread > bound {
			late := slices.MaxFunc(byKey[k], func(a, b workerStep) int { return a.s.Start.Compare(b.s.Start) })
			m.info.Warnings = append(m.info.Warnings, fmt.Sprintf("step %d of repetition %d: the workers began it %s apart (more than %s; %s last): their seconds were aligned to the nearest whole second, and the step's goodput sums seconds in which not every worker was loading the relay; start the workers with one --start-at and keep their clocks in sync (NTP)",
				k.Step+1, k.Repetition+1, spread.Round(time.Millisecond), bound, late.w.name()))
		}
		if len(byKey[k]) < len(ws) {
			var missing []string
			for _, w := range ws {
				if !slices.ContainsFunc(byKey[k], func(x workerStep) bool { return x.w == w }) {
					missing = append(missing, w.name())
				}
			}
			unit := "streams"
			if ws[0].scenario.Workload.Kind == scenarios.WorkloadChurn {
				unit = "req/s"
			}
			m.info.Warnings = append(m.info.Warnings, fmt.Sprintf("step %d of repetition %d: %s did not run it (stopped early?): the merged step carries %d of the step's %d %s",
				k.Step+1, k.Repetition+1, strings.Join(missing, ", "), s.Load, ws[0].seg.TotalLoads[min(k.Step, len(ws[0].seg.TotalLoads)-1)], unit))
		}
	}
	return loads
}

type workerStep struct {
	w *worker
	s rundir.StepSummary
}

// sumStep merges the workers' summaries of one step and returns the
// spread of their starts.
func sumStep(parts []workerStep) (rundir.StepSummary, time.Duration) {
	first := slices.MinFunc(parts, func(a, b workerStep) int { return a.s.Start.Compare(b.s.Start) }).s
	out := rundir.StepSummary{
		StepKey: first.StepKey, Start: first.Start, End: first.Start, WarmupEnd: first.Start.Add(first.WarmupEnd.Sub(first.Start)),
	}
	var spread time.Duration
	for _, p := range parts {
		s := p.s
		offset := s.Start.Sub(first.Start)
		spread = max(spread, offset)
		shift := int(math.Round(offset.Seconds()))
		out.Load += s.Load
		out.Requests += s.Requests
		out.Warmup += s.Warmup
		out.OK += s.OK
		out.Cut += s.Cut
		out.Offered += s.Offered
		out.Sent += s.Sent
		out.Canceled += s.Canceled
		out.CapWaited += s.CapWaited
		out.CapWait += s.CapWait
		out.Interrupted = out.Interrupted || s.Interrupted // a worker stopped during the step
		out.Bytes += s.Bytes
		for class, n := range s.Errors {
			if out.Errors == nil {
				out.Errors = map[string]int{}
			}
			out.Errors[class] += n
		}
		for len(out.SecondBytes) < shift+len(s.SecondBytes) {
			out.SecondBytes = append(out.SecondBytes, 0)
		}
		for i, n := range s.SecondBytes {
			out.SecondBytes[shift+i] += n
		}
		if end := first.Start.Add(time.Duration(shift)*time.Second + s.End.Sub(s.Start)); end.After(out.End) {
			out.End = end
		}
		if !s.First.IsZero() && (out.First.IsZero() || s.First.Before(out.First)) {
			out.First = s.First
		}
		if s.Last.After(out.Last) {
			out.Last = s.Last
		}
	}
	if w := out.End.Sub(out.WarmupEnd).Seconds(); w > 0 {
		out.Goodput = float64(out.Bytes) / w
	}
	if out.CapWaited > 0 {
		out.CapWaitMean = out.CapWait / time.Duration(out.CapWaited)
	}
	// StreamGoodputP50 stays 0: the runner takes it from each stream's
	// bytes within the window, which the records do not keep; the
	// analysis' stream goodput comes from the records.
	return out, spread
}

// startBound is the largest bound the workers warned at.
func startBound(ws []*worker) time.Duration {
	b := time.Duration(0)
	for _, w := range ws {
		b = max(b, w.seg.StartBound)
	}
	if b == 0 {
		return DefaultStartBound
	}
	return b
}

// mergeRecords concatenates the workers' records, renumbered as one
// process would have numbered them, in the order they ended.
func (m *run) mergeRecords(ws []*worker, loads map[rundir.StepKey]int) {
	endpoints := 0
	for _, w := range ws {
		seg := w.segment()
		for _, r := range w.run.Records {
			k := r.StepKey
			total := r.Load
			if r.Step < len(w.seg.TotalLoads) {
				total = w.seg.TotalLoads[r.Step]
			}
			if r.Worker >= 0 {
				r.Worker += seg.FirstWorker(total)
			}
			if r.Endpoint >= 0 {
				r.Endpoint += endpoints
			}
			if l, ok := loads[k]; ok {
				r.Load = l
			} else {
				r.Load = total // a step whose summary no worker wrote
			}
			m.records = append(m.records, r)
		}
		endpoints += w.seg.Endpoints
	}
	slices.SortStableFunc(m.records, func(a, b rundir.Record) int { return a.End().Compare(b.End()) })
}

// mergeSamples takes every worker's scrapes, process samples and
// circuits, the worker's own under its prefix.
func (m *run) mergeSamples(ws []*worker) {
	for _, w := range ws {
		clientURL := map[string]bool{}
		for _, e := range w.run.Info.Metrics {
			if e.Role == rundir.RoleClient {
				clientURL[e.URL] = true
			}
		}
		for _, r := range w.run.Metrics {
			if clientURL[r.URL] {
				r.URL = w.clientURL(r.URL)
			}
			m.metrics = append(m.metrics, r)
		}
		for _, p := range w.run.Processes {
			p.Name = w.prefix + p.Name
			m.processes = append(m.processes, p)
		}
		for _, c := range w.run.Circuits {
			c.Client = w.prefix + c.Client
			m.circuits = append(m.circuits, c)
		}
	}
	slices.SortStableFunc(m.metrics, func(a, b rundir.ScrapeRecord) int { return a.At.Compare(b.At) })
	slices.SortStableFunc(m.processes, func(a, b rundir.ProcessSample) int { return a.Time.Compare(b.Time) })
	slices.SortStableFunc(m.circuits, func(a, b rundir.CircuitRecord) int { return a.Time.Compare(b.Time) })
}

// clientURL is the merged name of one of w's client MetricsPorts: two
// workers' clients may listen on the same loopback port.
func (w *worker) clientURL(u string) string { return u + "#" + strings.TrimSuffix(w.prefix, "/") }

// mergedInfo is the merged run.json, less the step warnings.
func mergedInfo(ws []*worker) rundir.RunInfo {
	first := ws[0].run.Info
	info := rundir.RunInfo{
		Scenario: first.Scenario, Variant: first.Variant, Started: first.Started, Finished: first.Finished,
		Merged: &rundir.MergeInfo{Count: ws[0].seg.Count, Alignment: Alignment},
	}
	stopped := map[string][]string{}
	seenURL := map[string]bool{}
	for _, w := range ws {
		in := w.run.Info
		if in.Started.Before(info.Started) {
			info.Started = in.Started
		}
		switch {
		case in.Finished.IsZero() || info.Finished.IsZero():
			info.Finished = time.Time{} // a worker that never finished: the run did not
		case in.Finished.After(info.Finished):
			info.Finished = in.Finished
		}
		seg := fmt.Sprintf("segment %d/%d", w.seg.Index, w.seg.Count)
		stopped[in.StoppedBy] = append(stopped[in.StoppedBy], seg)
		if in.Error != "" {
			info.Error = strings.TrimPrefix(info.Error+"; "+seg+": "+in.Error, "; ")
		}
		for _, warn := range in.Warnings {
			info.Warnings = append(info.Warnings, seg+": "+warn)
		}
		for _, p := range w.run.Problems {
			info.Warnings = append(info.Warnings, seg+": "+p)
		}
		for _, e := range in.Metrics {
			if e.Role == rundir.RoleClient {
				e.URL, e.Name = w.clientURL(e.URL), w.prefix+e.Name
			}
			if !seenURL[e.URL] {
				seenURL[e.URL] = true
				info.Metrics = append(info.Metrics, e)
			}
		}
		info.Merged.Workers = append(info.Merged.Workers, rundir.MergedWorker{Segment: w.seg, Dir: w.dir, Prefix: w.prefix})
		// Every worker proved it runs against the operator's relay, or
		// was told to skip that: the merged run says the weakest.
		if p := in.RelayProof; p != nil && (info.RelayProof == nil || p.Kind == rundir.ProofSkipped && info.RelayProof.Kind != rundir.ProofSkipped) {
			proof := *p
			proof.Detail = seg + ": " + proof.Detail
			info.RelayProof = &proof
		}
		if info.OnsetAbort == nil && in.OnsetAbort != nil {
			info.OnsetAbort = in.OnsetAbort // the scraping worker's
		}
	}
	// How the run ended: as every worker ended, or the first way other
	// than completing, with who ended so.
	info.StoppedBy = first.StoppedBy
	if len(stopped) > 1 {
		info.StoppedBy = ""
		for _, how := range slices.Sorted(maps.Keys(stopped)) {
			if how != "completed" && info.StoppedBy == "" {
				info.StoppedBy = how
			}
			info.Warnings = append(info.Warnings, fmt.Sprintf("%s stopped by %q", strings.Join(stopped[how], ", "), how))
		}
	}
	if !slices.ContainsFunc(ws, func(w *worker) bool { return w.seg.ScrapesRelay }) {
		info.Warnings = append(info.Warnings, "no worker scraped the relay's MetricsPort (segment 0 does unless it failed early): no relay-side statistics")
	}
	return info
}
