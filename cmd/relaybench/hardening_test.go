package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/relaybench/relaybench/measure"
	"github.com/relaybench/relaybench/runner/rundir"
	"github.com/relaybench/relaybench/runner/stopsignal"
	"github.com/relaybench/relaybench/runner/testkit"
)

// The tests of this file feed relaybench broken input, a full disk and
// signals, tor-free (fake SocksPorts and MetricsPort of runner/testkit),
// and assert the exit code and the message: none may panic, and none may
// pass a gate or a regression check on data it cannot trust.

// hardeningBody is a short run through the fakes with gates it passes
// when intact: 2 steps of 3 s, 256 KiB objects at 1 MiB/s a stream.
const hardeningBody = `payload:
  size: 256KiB
workload:
  kind: bulk
  isolation: stream
ramp:
  steps: [1, 2]
  step_duration: 3s
  warmup: 1s
sampling:
  interval: 500ms
thresholds:
  min_capacity: 100KiB/s
  max_error_rate: 0.05
  max_p95_ttfb: 800ms
  no_overload_before_step: 1
`

// intactRun runs hardeningBody through fresh fakes and returns the run
// directory, for the test to copy before damaging it.
func intactRun(t *testing.T) string {
	t.Helper()
	socks, mp := startFakes(t, 2, testkit.Always(testkit.Behavior{Rate: 1 << 20, ReplyDelay: 20 * time.Millisecond}))
	path := goldenScenario(t, "intact", socks, mp, hardeningBody)
	out := t.TempDir()
	if code, said := cli("run", "--out", out, path); code != exitOK {
		t.Fatalf("intact run: exit %d:\n%s", code, said)
	}
	return filepath.Join(out, must(os.ReadDir(out))[0].Name())
}

// copyRun copies run directory src into a new temporary directory.
func copyRun(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	return dst
}

// cli runs relaybench in-process and returns its exit code and all it
// said (stdout, stderr, the error).
func cli(args ...string) (int, string) {
	var stdout, stderr bytes.Buffer
	err := run(args, &stdout, &stderr)
	all := stdout.String() + stderr.String()
	if err != nil {
		all += "\nerror: " + err.Error()
	}
	return exitCode(err), all
}

func editFile(t *testing.T, path string, edit func([]byte) []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, edit(b), 0o644); err != nil {
		t.Fatal(err)
	}
}

// insertLine puts line after the n-th line of b.
func insertLine(b []byte, n int, line string) []byte {
	lines := bytes.SplitAfter(b, []byte("\n"))
	out := bytes.Join(lines[:n], nil)
	out = append(out, line...)
	return append(out, bytes.Join(lines[n:], nil)...)
}

// TestDamagedRunDirs: analyze and compare --fail-on-regression on damaged
// copies of an intact run that passes its gates. Each damage is named,
// the records around it are used, and neither command passes: analyze
// exits 4 (not judged) instead of "thresholds: passed", compare exits 4
// instead of "regressions: none". A directory that is not a run exits 2.
func TestDamagedRunDirs(t *testing.T) {
	base := intactRun(t)
	requestLines := bytes.Count(must(os.ReadFile(filepath.Join(base, rundir.RequestsFile))), []byte("\n"))
	if requestLines < 6 {
		t.Fatalf("the intact run recorded %d requests, want 6 or more", requestLines)
	}
	if code, out := cli("analyze", copyRun(t, base)); code != exitOK || !strings.Contains(out, "thresholds: passed") {
		t.Fatalf("intact run: exit %d, want 0 and its gates passed:\n%s", code, out)
	}
	if code, out := cli("compare", "--fail-on-regression", "10", base, copyRun(t, base)); code != exitOK || !strings.Contains(out, "regressions beyond 10%:\n  none") {
		t.Fatalf("intact run against itself: exit %d, want 0 and no regression:\n%s", code, out)
	}
	// What compare says of a run it reads from its summary.json alone.
	compareSays := map[string][]string{
		"summary.json of version 99 and no raw files": {fmt.Sprintf("summary.json is version 99, newer than this relaybench reads (%d)", measure.AnalysisVersion)},
		"summary.json cut short and no raw files":     {"summary.json is damaged: unexpected end of JSON input"},
	}
	// cutJSON keeps the first 1/part of a JSON file, up to a comma: a cut
	// inside a number such as "0." reads as an invalid character after the
	// decimal point, not as the end of the input, and where the cut falls
	// varies with the run's numbers.
	cutJSON := func(b []byte, part int) []byte { return b[:bytes.LastIndexByte(b[:len(b)/part], ',')+1] }
	summaryOnly := func(dir string) {
		for _, name := range []string{rundir.RequestsFile, rundir.StepsFile, rundir.MetricsFile, rundir.ProcessesFile, rundir.CircuitsFile} {
			os.Remove(filepath.Join(dir, name))
		}
	}
	for _, tc := range []struct {
		name    string
		damage  func(dir string)
		analyze int      // analyze's exit code
		compare int      // compare --fail-on-regression's
		want    []string // said by analyze
	}{
		{"junk line in the middle of requests.jsonl", func(dir string) {
			editFile(t, filepath.Join(dir, rundir.RequestsFile), func(b []byte) []byte { return insertLine(b, 3, "{this is not json\n") })
		}, exitNotJudged, exitNotJudged, []string{fmt.Sprintf("requests.jsonl: 1 damaged line skipped (line 4: invalid character 't' looking for beginning of object key string); the %d good lines were read", requestLines)}},
		{"junk lines in steps.jsonl", func(dir string) {
			editFile(t, filepath.Join(dir, rundir.StepsFile), func(b []byte) []byte { return insertLine(insertLine(b, 1, "\x00\x01\n"), 0, "[1,2]\n") })
		}, exitNotJudged, exitNotJudged, []string{"steps.jsonl: 2 damaged lines skipped (lines 1, 3: "}},
		{"requests.jsonl cut in its last line", func(dir string) {
			editFile(t, filepath.Join(dir, rundir.RequestsFile), func(b []byte) []byte { return b[:len(b)-20] })
		}, exitNotJudged, exitNotJudged, []string{"requests.jsonl: its last line is cut short although the run finished"}},
		{"steps.jsonl without its last line", func(dir string) {
			editFile(t, filepath.Join(dir, rundir.StepsFile), func(b []byte) []byte {
				return b[:bytes.LastIndexByte(b[:len(b)-1], '\n')+1]
			})
		}, exitNotJudged, exitNotJudged, []string{"steps.jsonl has no line for step 2 of repetition 1 although requests.jsonl has their requests"}},
		{"empty requests.jsonl", func(dir string) {
			os.WriteFile(filepath.Join(dir, rundir.RequestsFile), nil, 0o644)
		}, exitNotJudged, exitNotJudged, []string{"requests.jsonl is empty: no request was recorded", "the run recorded no request",
			"requests.jsonl lacks requests that steps.jsonl counts: step 1 of repetition 1: 0 of "}},
		{"empty steps.jsonl", func(dir string) {
			os.WriteFile(filepath.Join(dir, rundir.StepsFile), nil, 0o644)
		}, exitNotJudged, exitNotJudged, []string{"steps.jsonl is missing or empty: it has no line for step 1 of repetition 1 and step 2 of repetition 1"}},
		{"empty metrics.jsonl", func(dir string) {
			os.WriteFile(filepath.Join(dir, rundir.MetricsFile), nil, 0o644)
		}, exitNotJudged, exitNotJudged, []string{"metrics.jsonl is empty", "metrics.jsonl has no scrape of the relay's MetricsPort"}},
		{"no requests.jsonl", func(dir string) {
			os.Remove(filepath.Join(dir, rundir.RequestsFile))
			os.Remove(filepath.Join(dir, rundir.SummaryFile))
		}, exitNotJudged, exitNotJudged, []string{"has no requests.jsonl: the run recorded no request"}},
		{"run.json of version 99", func(dir string) {
			editFile(t, filepath.Join(dir, rundir.RunInfoFile), func(b []byte) []byte { return bytes.Replace(b, []byte(`"version": 1`), []byte(`"version": 99`), 1) })
		}, exitNotJudged, exitNotJudged, []string{"run.json is version 99, newer than this relaybench reads (1)"}},
		{"run.json cut short", func(dir string) {
			editFile(t, filepath.Join(dir, rundir.RunInfoFile), func(b []byte) []byte { return cutJSON(b, 2) })
		}, exitNotJudged, exitNotJudged, []string{"run.json is damaged: unexpected end of JSON input"}},
		{"summary.json of version 99 and no raw files", func(dir string) {
			summaryOnly(dir)
			editFile(t, filepath.Join(dir, rundir.SummaryFile), func(b []byte) []byte {
				return bytes.Replace(b, []byte(fmt.Sprintf(`"version": %d`, measure.AnalysisVersion)), []byte(`"version": 99`), 1)
			})
		}, exitNotJudged, exitNotJudged, nil},
		{"summary.json cut short and no raw files", func(dir string) {
			summaryOnly(dir)
			editFile(t, filepath.Join(dir, rundir.SummaryFile), func(b []byte) []byte { return cutJSON(b, 3) })
		}, exitNotJudged, exitNotJudged, nil},
		{"no summary.json and no raw files", func(dir string) {
			summaryOnly(dir)
			os.Remove(filepath.Join(dir, rundir.SummaryFile))
		}, exitNotJudged, exitNotJudged, []string{"has no requests.jsonl"}},
		{"not a run directory", func(dir string) {
			os.Remove(filepath.Join(dir, rundir.ScenarioFile))
			os.Remove(filepath.Join(dir, rundir.SummaryFile))
		}, exitUsage, exitUsage, []string{"is not a relaybench run directory (it has no scenario.yaml)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyRun(t, base)
			tc.damage(dir)
			summaryBefore, _ := os.ReadFile(filepath.Join(dir, rundir.SummaryFile))

			code, out := cli("compare", "--fail-on-regression", "10", base, dir)
			check(t, "compare", code, tc.compare, out, compareSays[tc.name])
			if strings.Contains(out, "regressions beyond 10%:\n  none") {
				t.Errorf("compare calls damaged input no regression:\n%s", out)
			}
			if tc.compare == exitNotJudged && !strings.Contains(out, "NOT JUDGED") && !errorOnly(out) {
				t.Errorf("compare does not say the check was not judged:\n%s", out)
			}

			code, out = cli("analyze", dir)
			check(t, "analyze", code, tc.analyze, out, tc.want)
			if strings.Contains(out, "thresholds: passed") || strings.Contains(out, "ok   ") {
				t.Errorf("analyze passes a gate on damaged input:\n%s", out)
			}
			// A summary.json of the intact files is never replaced by the
			// analysis of the damaged ones.
			if len(summaryBefore) > 0 {
				if after, _ := os.ReadFile(filepath.Join(dir, rundir.SummaryFile)); !bytes.Equal(after, summaryBefore) {
					t.Errorf("analyze replaced the summary.json of intact raw files")
				} else if code == exitNotJudged && strings.Contains(out, "thresholds: NOT JUDGED") && !strings.Contains(out, "summary.json and the reports not rewritten") {
					t.Errorf("analyze kept summary.json without saying so:\n%s", out)
				}
			}
		})
	}
}

// errorOnly reports whether out is only an error (the command stopped
// before printing a comparison).
func errorOnly(out string) bool { return strings.HasPrefix(strings.TrimSpace(out), "error: ") }

func check(t *testing.T, cmd string, code, want int, out string, says []string) {
	t.Helper()
	if code != want {
		t.Errorf("%s: exit %d, want %d:\n%s", cmd, code, want, out)
	}
	for _, s := range says {
		if !strings.Contains(out, s) {
			t.Errorf("%s does not say %q:\n%s", cmd, s, out)
		}
	}
	if strings.Contains(out, "panic") || strings.Contains(out, "goroutine ") {
		t.Errorf("%s panicked:\n%s", cmd, out)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestCompareAgainstARunWithoutData: a run that carried no byte, or
// recorded no request, is never "no regression": compare
// --fail-on-regression exits 4 and says which run and why; without the
// flag it compares and notes it on stderr.
func TestCompareAgainstARunWithoutData(t *testing.T) {
	base := intactRun(t)
	// Every stream refused by its SocksPort (tor's "connection refused"):
	// requests, no byte.
	socks, mp := startFakes(t, 1, testkit.Always(testkit.Behavior{Reply: 5}))
	path := goldenScenario(t, "refused", socks, mp, strings.Replace(hardeningBody, "steps: [1, 2]", "steps: [1]", 1))
	out := t.TempDir()
	code, said := cli("run", "--out", out, path)
	if code != exitCheckFail || !strings.Contains(said, "FAIL min_capacity") {
		t.Fatalf("run whose every request was refused: exit %d, want 1 (its gates judged and failed):\n%s", code, said)
	}
	refused := filepath.Join(out, must(os.ReadDir(out))[0].Name())

	noRequests := copyRun(t, base)
	os.WriteFile(filepath.Join(noRequests, rundir.RequestsFile), nil, 0o644)

	for _, tc := range []struct {
		name, dir, why string
	}{
		{"no byte", refused, "it carried no byte"},
		{"no request", noRequests, "the run recorded no request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, args := range [][]string{{base, tc.dir}, {tc.dir, base}} {
				code, said := cli(append([]string{"compare", "--fail-on-regression", "10"}, args...)...)
				if code != exitNotJudged || !strings.Contains(said, "regressions beyond 10%: NOT JUDGED (fail closed)") ||
					!strings.Contains(said, tc.dir+": ") || !strings.Contains(said, tc.why) || strings.Contains(said, "regressions beyond 10%:\n  none") {
					t.Errorf("compare %q: exit %d, want 4 saying %q of %s:\n%s", args, code, tc.why, tc.dir, said)
				}
			}
			code, said := cli("compare", base, tc.dir)
			if code != exitOK || !strings.Contains(said, "relaybench: not comparable: "+tc.dir) {
				t.Errorf("compare without --fail-on-regression: exit %d, want 0 with a note:\n%s", code, said)
			}
		})
	}
}

// relaybenchProcess starts the test binary as relaybench (TestMain) with
// args, its output collected in out.
func relaybenchProcess(t *testing.T, out *bytes.Buffer, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), asRelaybenchEnv+"=1")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd
}

// waitForLines waits until path holds n lines.
func waitForLines(t *testing.T, path string, n int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(path); err == nil && bytes.Count(b, []byte("\n")) >= n {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s did not reach %d lines within %v", path, n, within)
}

// TestInterruptedRuns stops the built program (the test binary as
// relaybench) during its second step, with each signal a user or a system
// sends, and SIGKILL. Each signal stops the run like Ctrl-C: summary.json
// is written, the exit code is 128 + the signal. Whichever way it stopped,
// the run reads the same: interrupted during step 2, the requests the stop
// cut counted apart (never as errors), no onset or capacity from step 2,
// and its gates not judged (analyze exits 4).
func TestInterruptedRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("four runs of 6 s; skipped with -short")
	}
	body := strings.Replace(strings.Replace(hardeningBody, "steps: [1, 2]", "steps: [2, 4, 8]", 1), "step_duration: 3s", "step_duration: 4s", 1)
	body = strings.Replace(body, "size: 256KiB", "size: 1MiB", 1) // a second a stream: some end before the stop, some are cut
	type outcome struct {
		exit     int
		said     string
		summary  *measure.Analysis
		analyzed *measure.Analysis
	}
	results := map[string]*outcome{}
	var mu sync.Mutex
	t.Run("signals", func(t *testing.T) { // returns once its parallel subtests ended
		for _, tc := range []struct {
			name string
			sig  syscall.Signal
			exit int
		}{
			{"SIGINT", syscall.SIGINT, 130},
			{"SIGTERM", syscall.SIGTERM, 143},
			{"SIGHUP", syscall.SIGHUP, 129},
			{"SIGKILL", syscall.SIGKILL, -1},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				socks, mp := startFakes(t, 2, testkit.Always(testkit.Behavior{Rate: 1 << 20, ReplyDelay: 20 * time.Millisecond}))
				path := goldenScenario(t, "interrupted", socks, mp, body)
				out := t.TempDir()
				var said bytes.Buffer
				cmd := relaybenchProcess(t, &said, "run", "--out", out, path)
				var dir string
				for deadline := time.Now().Add(30 * time.Second); dir == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
					if ents, _ := os.ReadDir(out); len(ents) == 1 {
						dir = filepath.Join(out, ents[0].Name())
					}
				}
				waitForLines(t, filepath.Join(dir, rundir.StepsFile), 1, 60*time.Second)
				time.Sleep(1500 * time.Millisecond) // into step 2, past its warm-up
				cmd.Process.Signal(tc.sig)
				cmd.Wait()
				o := &outcome{exit: cmd.ProcessState.ExitCode(), said: said.String()}
				if o.exit != tc.exit {
					t.Errorf("exit %d, want %d:\n%s", o.exit, tc.exit, o.said)
				}
				if tc.sig != syscall.SIGKILL {
					if !strings.Contains(o.said, "interrupted by "+stopsignal.Name(tc.sig)) || !strings.Contains(o.said, "every request measured so far is in "+dir) {
						t.Errorf("the message does not say the run was interrupted and where its data is:\n%s", o.said)
					}
					a, err := measure.ReadSummary(dir)
					if err != nil {
						t.Fatalf("no summary.json after %s: %v", tc.sig, err)
					}
					o.summary = a
					info := must(rundir.ReadRunInfo(dir))
					if info.StoppedBy != "canceled" || info.Finished.IsZero() {
						t.Errorf("run.json: stopped by %q, finished %v; want canceled and a finish time", info.StoppedBy, info.Finished)
					}
				}
				code, analyzed := cli("analyze", dir)
				if code != exitNotJudged || !strings.Contains(analyzed, "interrupted: the run stopped before its end") ||
					!strings.Contains(analyzed, "during step 2 (4 streams) of repetition 1") ||
					!strings.Contains(analyzed, "thresholds: NOT JUDGED (fail closed): the run stopped before its end, during step 2 (4 streams)") {
					t.Errorf("analyze after %s: exit %d, want 4 saying where the run stopped:\n%s", tc.sig, code, analyzed)
				}
				a, err := measure.ReadSummary(dir)
				if err != nil {
					t.Fatal(err)
				}
				o.analyzed = a
				mu.Lock()
				results[tc.name] = o
				mu.Unlock()
			})
		}
	})
	t.Run("the paths agree", func(t *testing.T) {
		if len(results) != 4 {
			t.Fatalf("%d of 4 runs analysed", len(results))
		}
		for name, o := range results {
			a := o.analyzed
			if len(a.Interruptions) != 1 || a.Interruptions[0].Step != 1 || a.Interruptions[0].LeftOut {
				t.Errorf("%s: interruptions %+v, want one, at step 2, which only that window ran", name, a.Interruptions)
				continue
			}
			if len(a.Steps) != 2 || !a.Steps[1].Interrupted || a.Steps[0].Interrupted {
				t.Errorf("%s: %d steps, want 2 with the second marked interrupted", name, len(a.Steps))
				continue
			}
			for _, s := range a.Steps {
				if s.Errors[rundir.ClassCanceled] > 0 || s.ErrorRate != 0 {
					t.Errorf("%s: step %d counts the requests the stop cut as errors: %v", name, s.Step+1, s.Errors)
				}
			}
			if a.Onset != nil && a.Onset.Step == 1 {
				t.Errorf("%s: onset drawn from the cut step: %+v", name, a.Onset)
			}
			if a.Capacity == nil || a.Capacity.Step != 0 {
				t.Errorf("%s: capacity %+v, want step 1's, the only whole step", name, a.Capacity)
			}
			if name == "SIGKILL" {
				if !a.Interruptions[0].Inferred || a.StoppedBy != "unknown" {
					t.Errorf("SIGKILL: interruption %+v, stopped by %q; want it inferred, stopped by unknown", a.Interruptions[0], a.StoppedBy)
				}
			} else if a.Interruptions[0].Canceled == 0 || a.Steps[1].Canceled == 0 {
				t.Errorf("%s: no request counted as cut by the stop: %+v", name, a.Interruptions[0])
			}
			t.Logf("%s: %s", name, a.Interruptions[0].Text(a.LoadUnit))
		}
	})
}

// TestConfigurationErrorsBeforeTheLoad: what the run can tell is wrong
// before it loads the relay exits 2 (configuration) with what to fix, and
// loads nothing: a MetricsPort that does not answer, and an open-files
// limit too low for the scenario's streams (the program run under `ulimit
// -n 64`, which lowers the hard limit too).
func TestConfigurationErrorsBeforeTheLoad(t *testing.T) {
	t.Run("MetricsPort not answering", func(t *testing.T) {
		socks, mp := startFakes(t, 1, testkit.Always(testkit.Behavior{}))
		mp.SetFailure(testkit.MetricsRefuse)
		path := goldenScenario(t, "silent-metrics", socks, mp, hardeningBody)
		out := t.TempDir()
		code, said := cli("run", "--out", out, path)
		if code != exitUsage || !strings.Contains(said, "the MetricsPort "+mp.URL()) || !strings.Contains(said, "before the load started") ||
			!strings.Contains(said, "MetricsPortPolicy") || !strings.Contains(said, "target.socks.metrics_urls") {
			t.Errorf("exit %d, want 2 naming the URL, the field and what to check:\n%s", code, said)
		}
		if socks[0].Stats().Streams > 0 {
			t.Error("the load started")
		}
		if strings.Contains(said, "overload onset") {
			t.Errorf("a silent MetricsPort read as overload:\n%s", said)
		}
	})
	t.Run("open-files limit", func(t *testing.T) {
		if _, err := exec.LookPath("sh"); err != nil {
			t.Skip(err)
		}
		socks, mp := startFakes(t, 1, testkit.Always(testkit.Behavior{}))
		path := goldenScenario(t, "many-streams", socks, mp, strings.Replace(hardeningBody, "steps: [1, 2]", "steps: [1, 200]", 1))
		out := t.TempDir()
		var said bytes.Buffer
		cmd := exec.Command("sh", "-c", `ulimit -n 64 && exec "$0" "$@"`, os.Args[0], "run", "--out", out, path)
		cmd.Env = append(os.Environ(), asRelaybenchEnv+"=1")
		cmd.Stdout, cmd.Stderr = &said, &said
		cmd.Run()
		if code := cmd.ProcessState.ExitCode(); code != exitUsage || !strings.Contains(said.String(), "needs about 464 open files") ||
			!strings.Contains(said.String(), "open-files limit is 64 (hard limit 64)") || !strings.Contains(said.String(), "ulimit -n 464") {
			t.Errorf("exit %d, want 2 saying what the scenario needs and what to set:\n%s", code, said.String())
		}
		if ents, _ := os.ReadDir(out); len(ents) > 0 {
			t.Errorf("a run directory was created: %v", ents)
		}
		if socks[0].Stats().Conns > 0 {
			t.Error("the SocksPort was dialled")
		}
	})
}

// TestFullDisk runs on a 1 MiB tmpfs, which fills during the load. The
// run stops at once, says which file could not be written and where, and
// exits 3; run.json says it stopped for a failed write; no temporary file
// is left, and no line announces report files that were not written.
// Needs root (mount); skipped otherwise.
func TestFullDisk(t *testing.T) {
	if testing.Short() {
		t.Skip("a run of up to 15 s; skipped with -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	mnt := t.TempDir()
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size=1m,mode=0700"); err != nil {
		t.Skipf("cannot mount a tmpfs: %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(mnt, 0); err != nil {
			syscall.Unmount(mnt, syscall.MNT_DETACH)
		}
	})
	socks, mp := startFakes(t, 2, testkit.Always(testkit.Behavior{Rate: 1 << 20, ReplyDelay: 20 * time.Millisecond}))
	body := strings.Replace(strings.Replace(hardeningBody, "step_duration: 3s", "step_duration: 8s", 1), "interval: 500ms", "interval: 100ms", 1)
	path := goldenScenario(t, "full-disk", socks, mp, body)
	start := time.Now()
	var stdout, stderr bytes.Buffer
	err := run([]string{"run", "--out", mnt, path}, &stdout, &stderr)
	took := time.Since(start)
	said := stdout.String() + stderr.String()
	if exitCode(err) != exitRunFailure || !errors.Is(err, syscall.ENOSPC) || !errors.Is(err, rundir.ErrWrite) {
		t.Fatalf("exit %d (%v), want 3 and a failed write for want of space:\n%s", exitCode(err), err, said)
	}
	dir := filepath.Join(mnt, must(os.ReadDir(mnt))[0].Name())
	if !strings.Contains(err.Error(), dir+"/") || !strings.Contains(err.Error(), "df -h "+dir) {
		t.Errorf("the error does not name the file and the file system: %v", err)
	}
	if took > 14*time.Second {
		t.Errorf("the run took %v: it went on after the disk was full", took)
	}
	info, rerr := rundir.ReadRunInfo(dir)
	if rerr != nil || info.StoppedBy != "write-failed" || info.Finished.IsZero() {
		t.Errorf("run.json: %+v, %v; want stopped by write-failed and a finish time", info, rerr)
	}
	for _, e := range must(os.ReadDir(dir)) {
		if strings.HasPrefix(e.Name(), ".") || strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
	for _, name := range []string{rundir.HTMLFile, rundir.MarkdownFile, rundir.SummaryFile} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil && strings.Contains(stdout.String(), name) {
			t.Errorf("stdout announces %s, which was not written:\n%s", name, stdout.String())
		}
	}
	if st, err := os.Stat(filepath.Join(dir, rundir.RequestsFile)); err != nil || st.Size() == 0 {
		t.Errorf("requests.jsonl lost what was written before the disk was full: %v", err)
	}
	t.Logf("stopped after %v: %v\nstdout: %s", took.Round(time.Millisecond), err, stdout.String())
}
