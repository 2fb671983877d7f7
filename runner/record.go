package runner

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// Record is the outcome of one request: one JSON line in requests.jsonl.
// Durations are nanoseconds measured from Start.
type Record struct {
	// Repetition is the 0-based repetition of the ramp (scenario
	// repetitions run the whole ramp again).
	Repetition int `json:"rep"`
	// Step is the 0-based index of the ramp step the request belongs to.
	Step int `json:"step"`
	// Load is the step's load: concurrent streams (bulk, slow-readers) or
	// requests per second (churn).
	Load int `json:"load"`
	// Worker is the closed-loop worker that made the request (0..Load-1),
	// or -1 in the open loop (churn), where vegeta's workers are anonymous.
	Worker int `json:"worker"`
	// Endpoint is the index of the SOCKS endpoint used, or -1 when none was
	// reached (no live endpoint left).
	Endpoint int `json:"endpoint"`
	// Intended is when the request should have started: the pacer's
	// schedule in the open loop, so that coordinated omission shows as
	// Start - Intended; equal to Start in the closed loop.
	Intended time.Time `json:"intended"`
	// Start is when the request entered the transport.
	Start time.Time `json:"start"`
	// ConnectNS is the SOCKS connect time, including tor's circuit build
	// and stream attach; 0 when a kept-alive connection was reused.
	ConnectNS int64 `json:"connect_ns"`
	// TTFBNS is the time to the first response byte, 0 if none arrived.
	TTFBNS int64 `json:"ttfb_ns"`
	// TTLBNS is the time until the request ended: the last body byte for a
	// success, the failure or cut otherwise.
	TTLBNS int64 `json:"ttlb_ns"`
	// Bytes is the number of body bytes received.
	Bytes int64 `json:"bytes"`
	// Status is the HTTP status code, 0 if no response arrived.
	Status int `json:"status"`
	// Error is the error class (see ClassifyError); empty on success.
	Error string `json:"error"`
	// Detail is the full error text.
	Detail string `json:"detail"`
	// Warmup is true when the request started within the step's warm-up.
	Warmup bool `json:"warmup"`
}

// OK reports whether the request succeeded.
func (r *Record) OK() bool { return r.Error == "" }

// End returns when the request ended.
func (r *Record) End() time.Time { return r.Start.Add(time.Duration(r.TTLBNS)) }

// recordWriter writes records as JSON lines, one Write call per record,
// serialized, so that a crash loses at most the record being written.
type recordWriter struct {
	mu  sync.Mutex
	w   io.Writer
	buf bytes.Buffer
	err error // first write error
}

func (rw *recordWriter) write(r *Record) {
	if rw.w == nil {
		return
	}
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if rw.err != nil {
		return
	}
	rw.buf.Reset()
	if err := json.NewEncoder(&rw.buf).Encode(r); err != nil { // Encode appends '\n'.
		rw.err = err
		return
	}
	if _, err := rw.w.Write(rw.buf.Bytes()); err != nil {
		rw.err = fmt.Errorf("write request record: %w: check the disk holding the run directory", err)
	}
}

func (rw *recordWriter) error() error {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	return rw.err
}

// ReadRecords reads a requests.jsonl stream. A last line that is cut short
// (a crash while writing it) is dropped; a malformed line anywhere else is
// an error naming its line number.
func ReadRecords(r io.Reader) ([]Record, error) {
	var recs []Record
	br := bufio.NewReaderSize(r, 64<<10)
	for line := 1; ; line++ {
		b, err := br.ReadBytes('\n')
		if len(b) > 0 {
			complete := b[len(b)-1] == '\n'
			b = bytes.TrimSpace(b)
			if len(b) > 0 {
				var rec Record
				if jerr := json.Unmarshal(b, &rec); jerr != nil {
					if !complete && errors.Is(err, io.EOF) {
						return recs, nil // truncated last line
					}
					return recs, fmt.Errorf("requests record line %d: %w: the file is damaged; remove the line or rerun", line, jerr)
				}
				recs = append(recs, rec)
			}
		}
		if errors.Is(err, io.EOF) {
			return recs, nil
		}
		if err != nil {
			return recs, fmt.Errorf("read request records: %w", err)
		}
	}
}
