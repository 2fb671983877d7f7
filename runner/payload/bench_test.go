package payload

import (
	"bytes"
	"io"
	"math"
	"net/http"
	"testing"
	"time"
)

// ioCopyBaseline returns the fastest of ten runs of io.Copy moving size
// bytes from a bytes.Reader into a preallocated buffer: a memory-speed
// yardstick that the benchmarks below report themselves against.
func ioCopyBaseline(size int) time.Duration {
	src := fillAt(NewContent(1), 0, size)
	var dst bytes.Buffer
	dst.Grow(size)
	best := time.Duration(math.MaxInt64)
	for range 10 {
		dst.Reset()
		start := time.Now()
		if _, err := io.Copy(&dst, bytes.NewReader(src)); err != nil {
			panic(err)
		}
		best = min(best, time.Since(start))
	}
	return best
}

// reportVsIOCopy adds the metric "x-io.Copy": time per op divided by the
// io.Copy baseline for the same number of bytes (1 = as fast as a memory
// copy, 3 = three times slower).
func reportVsIOCopy(b *testing.B, size int) {
	base := ioCopyBaseline(size)
	b.ReportMetric(float64(b.Elapsed())/float64(b.N)/float64(base), "x-io.Copy")
}

func BenchmarkContentFill(b *testing.B) {
	c := NewContent(DefaultSeed)
	p := make([]byte, copyBufferSize)
	b.SetBytes(int64(len(p)))
	var off int64
	for b.Loop() {
		c.Fill(p, off)
		off += int64(len(p))
	}
}

// BenchmarkVerifier measures the client-side check alone: 8 MiB of correct
// content written in 32 KiB chunks, as io.Copy from a response body does.
func BenchmarkVerifier(b *testing.B) {
	const size = 8 << 20
	const seed = 17
	p := fillAt(NewContent(seed), 0, size)
	b.SetBytes(size)
	for b.Loop() {
		v := NewVerifier(seed)
		for chunk := p; len(chunk) > 0; chunk = chunk[copyBufferSize:] {
			if _, err := v.Write(chunk[:copyBufferSize]); err != nil {
				b.Fatal(err)
			}
		}
	}
	reportVsIOCopy(b, size)
}

// BenchmarkServerLoopback downloads 64 MiB from a real server over loopback
// HTTP, either checking every byte (verify) or throwing them away (discard),
// so the difference is the cost of verification in an end-to-end transfer.
func BenchmarkServerLoopback(b *testing.B) {
	const size = 64 << 20
	s, err := Listen("")
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	url := s.BytesURL(size)

	for _, mode := range []string{"verify", "discard"} {
		b.Run(mode, func(b *testing.B) {
			b.SetBytes(size)
			for b.Loop() {
				resp, err := client.Get(url)
				if err != nil {
					b.Fatal(err)
				}
				var n int64
				if mode == "verify" {
					n, err = Verify(resp.Body, DefaultSeed, size)
				} else {
					n, err = io.Copy(io.Discard, resp.Body)
				}
				resp.Body.Close()
				if err != nil || n != size {
					b.Fatalf("%d bytes, %v", n, err)
				}
			}
			reportVsIOCopy(b, size)
		})
	}
}
