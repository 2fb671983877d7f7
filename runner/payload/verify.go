package payload

import (
	"errors"
	"fmt"
	"io"
	"sync"
)

// ErrMismatch classifies payload corruption: errors.Is(err, ErrMismatch)
// holds for every *MismatchError.
var ErrMismatch = errors.New("payload mismatch")

// ErrShortRead classifies a payload that ended before its expected length:
// errors.Is(err, ErrShortRead) holds for a *LengthError with Got < Expected.
var ErrShortRead = errors.New("payload short read")

// ErrLongRead classifies a payload that carried more bytes than expected:
// errors.Is(err, ErrLongRead) holds for a *LengthError with Got > Expected.
var ErrLongRead = errors.New("payload long read")

// MismatchError reports the first byte of a payload that differs from the
// expected content.
type MismatchError struct {
	// Seed is the seed of the expected content.
	Seed uint64
	// Offset is the byte offset of the first wrong byte from the start of the
	// payload.
	Offset int64
	// Got is the byte received and Want the byte expected at Offset.
	Got, Want byte
}

// Error describes the mismatch and what to check next.
func (e *MismatchError) Error() string {
	return fmt.Sprintf("payload mismatch at byte %d (seed %d): got 0x%02x, want 0x%02x: "+
		"the bytes were altered in transit or served with a different seed; "+
		"check that the request and the verifier use the same seed, then look for corruption on the path",
		e.Offset, e.Seed, e.Got, e.Want)
}

// Is makes errors.Is(err, ErrMismatch) true.
func (e *MismatchError) Is(target error) bool { return target == ErrMismatch }

// LengthError reports a payload whose byte count differs from the expected
// length.
type LengthError struct {
	// Expected is the length the payload should have had, Got the number of
	// bytes actually received.
	Expected, Got int64
	// Err is the read error that ended the payload, or nil when it ended
	// with a clean EOF at the wrong length.
	Err error
}

// Error describes the length difference and what to check next.
func (e *LengthError) Error() string {
	var msg string
	if e.Got < e.Expected {
		msg = fmt.Sprintf("payload short read: got %d of %d bytes: the stream closed early, "+
			"usually a circuit or relay failure; check the tor client and relay logs around this time", e.Got, e.Expected)
	} else {
		msg = fmt.Sprintf("payload long read: got %d bytes, expected %d: "+
			"the server sent more than asked for; check the requested size and the server URL", e.Got, e.Expected)
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Is makes errors.Is(err, ErrShortRead) or errors.Is(err, ErrLongRead) true,
// according to the direction of the difference.
func (e *LengthError) Is(target error) bool {
	switch target {
	case ErrShortRead:
		return e.Got < e.Expected
	case ErrLongRead:
		return e.Got > e.Expected
	}
	return false
}

// Unwrap returns the read error that ended the payload, if any.
func (e *LengthError) Unwrap() error { return e.Err }

// CheckLength compares the byte count at the end of a payload with the
// expected length. It returns nil when they are equal and a *LengthError
// otherwise; readErr, the error that ended the read (nil or io.EOF for a clean
// end), is kept in the LengthError so the transport cause stays visible.
func CheckLength(expected, got int64, readErr error) error {
	if got == expected {
		return nil
	}
	if errors.Is(readErr, io.EOF) {
		readErr = nil
	}
	return &LengthError{Expected: expected, Got: got, Err: readErr}
}

// Verifier is an io.Writer that checks each byte written to it against the
// expected content at the running offset, without keeping any of it. Use it
// as the destination of io.Copy from a response body. On the first wrong byte
// Write returns a *MismatchError, and every later Write returns the same
// error. A Verifier is not safe for concurrent use.
type Verifier struct {
	content Content
	n       int64
	err     error
}

// NewVerifier returns a Verifier for the content of seed, starting at
// offset 0.
func NewVerifier(seed uint64) *Verifier {
	return &Verifier{content: NewContent(seed)}
}

// Write verifies p. It returns the number of bytes that matched before the
// first mismatch, with a *MismatchError if there was one.
func (v *Verifier) Write(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	i := v.content.firstMismatch(p, v.n)
	if i < 0 {
		v.n += int64(len(p))
		return len(p), nil
	}
	off := v.n + int64(i)
	v.err = &MismatchError{Seed: v.content.Seed, Offset: off, Got: p[i], Want: v.content.Byte(off)}
	v.n = off
	return i, v.err
}

// Count returns the number of bytes verified as correct so far. After a
// mismatch it equals the mismatch offset.
func (v *Verifier) Count() int64 { return v.n }

// Err returns the *MismatchError for the first wrong byte, or nil.
func (v *Verifier) Err() error { return v.err }

// Finish reports the outcome once the payload has ended: the mismatch, if
// any, otherwise the result of CheckLength(expected, Count(), nil).
func (v *Verifier) Finish(expected int64) error {
	if v.err != nil {
		return v.err
	}
	return CheckLength(expected, v.n, nil)
}

// copyBufferSize is the chunk size used to move payload bytes on both sides.
// It matches io.Copy's default: large enough that per-chunk overhead vanishes
// next to generation and verification, small enough to stay in L1/L2 cache.
const copyBufferSize = 32 << 10

var copyBuffers = sync.Pool{New: func() any { b := make([]byte, copyBufferSize); return &b }}

// Verify reads r to its end, checking it against the content of seed, and
// returns the number of correct bytes read with the first failure:
//   - a *MismatchError (errors.Is(err, ErrMismatch)) on the first wrong byte;
//     reading stops there;
//   - a *LengthError (errors.Is(err, ErrShortRead) or ErrLongRead) when r ends
//     at a length other than size, wrapping the read error if one ended it;
//   - the read error, wrapped, if r failed after exactly size bytes.
//
// Pass size < 0 to skip the length check.
func Verify(r io.Reader, seed uint64, size int64) (int64, error) {
	v := NewVerifier(seed)
	bufp := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(bufp)
	_, err := io.CopyBuffer(v, r, *bufp)
	if v.err != nil {
		return v.n, v.err
	}
	if size < 0 {
		if err != nil {
			return v.n, fmt.Errorf("read payload after %d bytes: %w", v.n, err)
		}
		return v.n, nil
	}
	if lenErr := CheckLength(size, v.n, err); lenErr != nil {
		return v.n, lenErr
	}
	if err != nil {
		return v.n, fmt.Errorf("read payload: all %d bytes arrived but the stream then failed: %w", v.n, err)
	}
	return v.n, nil
}
