// Package merge makes one run directory of the run directories of the N
// workers of a segmented run (`relaybench run --segment i/N`), so that
// analyze, report and compare read it like a run made by one process
// with the whole load: `relaybench merge RUN_DIR... -o MERGED`.
//
// Nothing is averaged or estimated. From the workers' raw files:
//
//   - requests.jsonl is every worker's records, in the order they ended,
//     with the step's load set to the whole step's, closed-loop workers and
//     SOCKS endpoints numbered on from the segments before (as one process
//     would number them); percentiles are taken from these raw samples
//     again, by the analysis and by StepLatencies for steps.jsonl.
//   - steps.jsonl has one step per repetition and step: requests, OK,
//     cut, errors and bytes are the workers' sums, exactly.
//   - The per-second bytes (steps.jsonl's second_bytes, which the goodput
//     series comes from) are summed on one time axis: the merged step
//     starts at the earliest worker's start of that step, and each worker's
//     second k is added to the merged second nearest its own, i.e. second
//     k + round(offset) where offset is how much later the worker began the
//     step. Bytes are never split across seconds or interpolated, so every
//     byte is counted once; a worker offset of up to half a second puts its
//     bytes at most that far from where they arrived. The merged step ends
//     where the last worker's ends on that axis. Workers started with one
//     --start-at begin a step within milliseconds of each other; a spread
//     above the workers' bound (1 s) is a warning in run.json, which the
//     analysis shows among the problems of the verdict.
//   - processes.jsonl, circuits.jsonl and the workers' own client
//     MetricsPorts keep every worker's samples under a worker prefix
//     ("w1/load0", "w1/machine", URL fragment "#w1"), so that names do not
//     collide and a step is load-generator bound when any worker's client,
//     harness or machine was.
//   - metrics.jsonl keeps the relay's scrapes (the worker that scraped it,
//     segment 0 unless told otherwise) with their URLs; env.json is that
//     worker's; scenario.yaml is the one every worker ran.
//   - run.json says which workers were merged (MergeInfo) and carries
//     every worker's warnings, prefixed with its segment.
//
// Merge refuses (ConflictError) inputs that are not the N segments of one
// run: different scenarios (scenario.yaml, which a worker writes without
// its segment, must be the same), different variants, start times or
// numbers of workers, and a segment given twice or left out.
package merge
