package runner

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/relaybench/relaybench/runner/payload"
	"github.com/relaybench/relaybench/runner/testkit"
	"github.com/relaybench/relaybench/scenarios"
	"golang.org/x/net/proxy"
)

// BenchmarkForwarder checks that the harness is never the bottleneck: one
// bulk stream through the engine and the in-process SOCKS5 forwarder (no
// tor), against plain http.Get + io.Copy of the same payload from the same
// server over loopback. tor manages 14-16 MB/s per stream here; the
// harness must be far faster, and close to the raw copy. raw-socks is the
// same plain copy through the forwarder: the harness's own overhead is the
// gap to it (on a 2-core machine the forwarder's copy competes for CPU, so
// the gap to raw is mostly the extra hop).
//
//	go test -run '^$' -bench Forwarder -benchtime 1x ./runner/
func BenchmarkForwarder(b *testing.B) {
	const (
		size = 64 << 20
		dur  = 2 * time.Second
	)
	srv, err := payload.Listen("")
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	socks := testkit.StartSOCKS(b)

	harness := func(verify bool) float64 {
		sc := scenario(scenarios.WorkloadBulk, size, dur, 0, 1)
		plan := Plan{Scenario: sc, Endpoints: []Endpoint{{Name: "fwd", Addr: socks.Addr()}}, PayloadURL: srv.BytesURL, Verify: verify, LoopbackOnly: true, Seed: payload.DefaultSeed}
		sum, err := Run(b.Context(), plan)
		if err != nil {
			b.Fatal(err)
		}
		if st := sum.Steps[0]; st.OK == 0 || st.ErrorCount() > 0 {
			b.Fatalf("harness step: %+v", st)
		}
		return sum.Steps[0].Goodput
	}
	raw := func(viaSocks bool) float64 {
		tr := &http.Transport{DisableKeepAlives: true, DisableCompression: true, ReadBufferSize: 64 << 10}
		if viaSocks {
			d, err := proxy.SOCKS5("tcp", socks.Addr(), nil, nil)
			if err != nil {
				b.Fatal(err)
			}
			tr.DialContext = d.(proxy.ContextDialer).DialContext
		}
		defer tr.CloseIdleConnections()
		client := &http.Client{Transport: tr}
		buf := make([]byte, 64<<10)
		sink := struct{ io.Writer }{io.Discard} // hide ReadFrom: copy through buf
		var n int64
		start := time.Now()
		for time.Since(start) < dur {
			resp, err := client.Get(srv.BytesURL(size))
			if err != nil {
				b.Fatal(err)
			}
			k, err := io.CopyBuffer(sink, resp.Body, buf)
			resp.Body.Close()
			if err != nil || k != size {
				b.Fatalf("raw copy: %d bytes, %v", k, err)
			}
			n += k
		}
		return float64(n) / time.Since(start).Seconds()
	}

	for b.Loop() {
		rawBps := raw(false)
		socksBps := raw(true)
		verified := harness(true)
		unverified := harness(false)
		b.ReportMetric(rawBps/1e6, "raw-MB/s")
		b.ReportMetric(socksBps/1e6, "raw-socks-MB/s")
		b.ReportMetric(verified/socksBps, "ratio-vs-raw-socks")
		b.ReportMetric(unverified/socksBps, "ratio-noverify-vs-raw-socks")
		b.ReportMetric(verified/1e6, "harness-MB/s")
		b.ReportMetric(unverified/1e6, "harness-noverify-MB/s")
		b.ReportMetric(verified/rawBps, "ratio")
		b.ReportMetric(unverified/rawBps, "ratio-noverify")
	}
}
