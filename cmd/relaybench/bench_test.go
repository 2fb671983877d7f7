package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/relaybench/relaybench/chutney"
	"github.com/relaybench/relaybench/runner"
	"github.com/relaybench/relaybench/runner/payload"
	"github.com/relaybench/relaybench/scenarios"
)

// payloadServerEnv makes the test binary a payload server in a process of
// its own, so that the CPU the harness and curl use can be measured apart
// from the CPU of serving bytes.
const payloadServerEnv = "RELAYBENCH_BENCH_PAYLOAD_SERVER"

// servePayloadProcess is the child side: print the URL, serve until stdin
// closes.
func servePayloadProcess() {
	srv, err := payload.Listen("127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(srv.URL())
	bufio.NewReader(os.Stdin).ReadString('\n')
	srv.Close()
	os.Exit(0)
}

// startPayloadProcess starts the payload server child and returns its URL.
func startPayloadProcess(b *testing.B) string {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), payloadServerEnv+"=1")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatalf("payload server: %v", err)
	}
	return strings.TrimSpace(line)
}

func cpuSeconds(ru syscall.Rusage) float64 {
	return time.Duration(syscall.TimevalToNsec(ru.Utime) + syscall.TimevalToNsec(ru.Stime)).Seconds()
}

// BenchmarkHarnessVsCurl compares relaybench with the manual method the
// Tor support pages describe, N parallel `curl --proxy socks5h://RANDOM:x@`
// downloads, through the same tor client of the embedded network, at N=1
// and N=8: goodput ratio (goal >= 1.0) and CPU per MiB of the load
// generator itself (goal: less than curl). The payload server runs in a
// process of its own; tor's CPU is the same for both and not counted.
//
//	go test -run '^$' -bench HarnessVsCurl -benchtime 1x ./cmd/relaybench/
func BenchmarkHarnessVsCurl(b *testing.B) {
	if _, err := exec.LookPath("curl"); err != nil {
		b.Skip("curl is not installed (apt-get install curl)")
	}
	net, err := chutney.Start(context.Background(), filepath.Join(b.TempDir(), "net"))
	if err != nil {
		b.Fatal(err)
	}
	defer net.Stop()
	base := startPayloadProcess(b)
	// A client that connects to the relays itself: the network's own
	// client goes through an egress proxy in this process, whose CPU
	// would count as the harness's and not as curl's.
	cfg := net.ClientConfig("bench", scenarios.RoleBridge, 0)
	cfg.SourceAddress = chutney.RelayAddress
	client, err := chutney.StartClient(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer client.Stop()
	bootCtx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := client.WaitBootstrapped(bootCtx); err != nil {
		b.Fatal(err)
	}
	const size = 64 << 20
	url := fmt.Sprintf("%s/bytes/%d", base, size)
	for range b.N {
		for _, n := range []int{1, 8} {
			curlMiBps, curlCPU := runCurls(b, client.SocksAddr, url, n)
			harnessMiBps, harnessCPU := runHarness(b, client.SocksAddr, base, n, size)
			ratio := harnessMiBps / curlMiBps
			b.ReportMetric(ratio, fmt.Sprintf("goodput-x-curl-N%d", n))
			b.ReportMetric(harnessCPU/curlCPU, fmt.Sprintf("cpu-per-MiB-x-curl-N%d", n))
			fmt.Fprintf(os.Stderr, "N=%d: curl %.1f MiB/s, %.1f ms CPU/MiB; relaybench %.1f MiB/s, %.1f ms CPU/MiB; goodput ratio %.2f (goal >= 1.0), CPU ratio %.2f (goal < 1)\n",
				n, curlMiBps, curlCPU*1000, harnessMiBps, harnessCPU*1000, ratio, harnessCPU/curlCPU)
		}
	}
}

// runCurls runs n curl downloads of url at once, each with its own SOCKS
// credentials, and returns the total goodput and curl's CPU seconds per MiB.
func runCurls(b *testing.B, socks, url string, n int) (mibps, cpuPerMiB float64) {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		cpu   float64
		bytes int64
		errs  []string
	)
	start := time.Now()
	for i := range n {
		wg.Go(func() {
			cmd := exec.Command("curl", "-s", "-o", os.DevNull, "-w", "%{size_download}",
				"--proxy", fmt.Sprintf("socks5h://curl%d%d:x@%s", i, time.Now().UnixNano(), socks), url)
			out, err := cmd.Output()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err.Error())
				return
			}
			got, _ := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
			bytes += got
			cpu += cpuSeconds(*cmd.ProcessState.SysUsage().(*syscall.Rusage))
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		b.Fatalf("curl: %v", errs)
	}
	mib := float64(bytes) / (1 << 20)
	return mib / time.Since(start).Seconds(), cpu / mib
}

// runHarness runs one bulk step of n streams through the SocksPort and
// returns its goodput and the harness's own CPU seconds per MiB.
func runHarness(b *testing.B, socks, base string, n int, size int64) (mibps, cpuPerMiB float64) {
	sc, err := scenarios.Builtin("local")
	if err != nil {
		b.Fatal(err)
	}
	sc.Ramp.Steps = []int{n}
	sc.Ramp.StepDuration = scenarios.Duration(12 * time.Second)
	sc.Ramp.Warmup = scenarios.Duration(2 * time.Second)
	sc.Payload.Size = scenarios.ByteSize(size)
	plan := runner.Plan{
		Scenario:     sc,
		Endpoints:    []runner.Endpoint{{Name: "client", Addr: socks}},
		PayloadURL:   func(size int64) string { return fmt.Sprintf("%s/bytes/%d", base, size) },
		Verify:       true,
		Seed:         payload.DefaultSeed,
		LoopbackOnly: true,
	}
	var before, after syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	sum, err := runner.Run(context.Background(), plan)
	syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	if err != nil {
		b.Fatal(err)
	}
	st := sum.Steps[0]
	// CPU over the whole step (warm-up included) against every byte the
	// step received: the same accounting as curl's.
	mib := float64(sum.Bytes) / (1 << 20)
	return st.Goodput / (1 << 20), (cpuSeconds(after) - cpuSeconds(before)) / mib
}
