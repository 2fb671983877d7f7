package rundir

// The files of a run directory. Everything but summary.json and the
// reports is raw data, streamed to disk while the run goes; summary.json is
// derived from the raw files and the reports from summary.json.
const (
	// ScenarioFile is the scenario as run, defaults filled in.
	ScenarioFile = "scenario.yaml"
	// RunInfoFile describes the run: when, what was sampled, how it ended
	// (RunInfo).
	RunInfoFile = "run.json"
	// EnvFile describes what the run ran on (package envinfo).
	EnvFile = "env.json"
	// RequestsFile holds one Record per request.
	RequestsFile = "requests.jsonl"
	// StepsFile holds one StepSummary per step, written as each step ends:
	// the step boundaries the analysis needs.
	StepsFile = "steps.jsonl"
	// MetricsFile holds one ScrapeRecord per scrape.
	MetricsFile = "metrics.jsonl"
	// ProcessesFile holds ProcessSample lines.
	ProcessesFile = "processes.jsonl"
	// CircuitsFile holds CircuitRecord lines.
	CircuitsFile = "circuits.jsonl"
	// SummaryFile is the analysis, rewritten by `relaybench analyze`.
	SummaryFile = "summary.json"

	// StepsCSVFile, MarkdownFile, HTMLFile and BenchFile are the reports,
	// next to summary.json; BenchFile holds the run in Go benchmark format,
	// for benchstat.
	StepsCSVFile = "steps.csv"
	MarkdownFile = "report.md"
	HTMLFile     = "report.html"
	BenchFile    = "bench.txt"

	// VariantsDir is the subdirectory of a run with variants that holds one
	// run directory per variant.
	VariantsDir = "variants"
	// ComparisonMarkdownFile and ComparisonJSONFile rank the variants of a
	// run with variants, in its top directory.
	ComparisonMarkdownFile = "comparison.md"
	ComparisonJSONFile     = "comparison.json"
)
