package payload

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

// writeInChunks writes p to w in chunks of the given sizes, cycling, and
// returns the first error.
func writeInChunks(w io.Writer, p []byte, sizes ...int) error {
	for i := 0; len(p) > 0; i++ {
		n := min(sizes[i%len(sizes)], len(p))
		if _, err := w.Write(p[:n]); err != nil {
			return err
		}
		p = p[n:]
	}
	return nil
}

func TestVerifierAcceptsContentInAnyChunking(t *testing.T) {
	const seed, size = 11, 10_007
	p := fillAt(NewContent(seed), 0, size)
	for _, sizes := range [][]int{{size}, {1}, {3, 5, 7}, {8}, {4096, 13}} {
		v := NewVerifier(seed)
		if err := writeInChunks(v, p, sizes...); err != nil {
			t.Fatalf("chunks %v: %v", sizes, err)
		}
		if err := v.Finish(size); err != nil {
			t.Fatalf("chunks %v: Finish: %v", sizes, err)
		}
		if v.Count() != size {
			t.Fatalf("chunks %v: Count = %d, want %d", sizes, v.Count(), size)
		}
	}
}

func TestVerifierReportsFirstMismatch(t *testing.T) {
	const seed, size = 12, 2000
	good := fillAt(NewContent(seed), 0, size)
	for _, at := range []int64{0, 1, 7, 8, 9, 63, 64, 999, 1000, 1001, size - 1} {
		p := bytes.Clone(good)
		p[at] ^= 0x10
		p[size-1] ^= 0x01 // a second error must not be the one reported
		if at == size-1 {
			p[size-1] ^= 0x01
		}
		v := NewVerifier(seed)
		err := writeInChunks(v, p, 3, 61, 500)
		var mm *MismatchError
		if !errors.As(err, &mm) {
			t.Fatalf("byte %d flipped: err = %v, want *MismatchError", at, err)
		}
		if !errors.Is(err, ErrMismatch) || errors.Is(err, ErrShortRead) {
			t.Errorf("byte %d flipped: errors.Is(ErrMismatch) = %v, (ErrShortRead) = %v; want true, false",
				at, errors.Is(err, ErrMismatch), errors.Is(err, ErrShortRead))
		}
		if mm.Offset != at || mm.Seed != seed || mm.Want != good[at] || mm.Got != good[at]^0x10 {
			t.Errorf("byte %d flipped: got %+v, want offset %d got 0x%02x want 0x%02x", at, *mm, at, good[at]^0x10, good[at])
		}
		if v.Count() != at {
			t.Errorf("byte %d flipped: Count = %d, want %d", at, v.Count(), at)
		}
		// The error sticks, and Finish reports it rather than a length problem.
		if n, err2 := v.Write(good[:1]); n != 0 || err2 != err {
			t.Errorf("Write after mismatch = %d, %v; want 0 and the first error", n, err2)
		}
		if err2 := v.Finish(size); err2 != err {
			t.Errorf("Finish after mismatch = %v, want the mismatch", err2)
		}
	}
}

func TestVerifierWriteReturnsMatchedCount(t *testing.T) {
	p := fillAt(NewContent(1), 5, 40)
	p[20] ^= 0xff
	v := NewVerifier(1)
	if _, err := v.Write(make([]byte, 0)); err != nil {
		t.Fatal(err)
	}
	_ = writeInChunks(v, fillAt(NewContent(1), 0, 5), 5)
	n, err := v.Write(p)
	if n != 20 || err == nil {
		t.Fatalf("Write = %d, %v; want 20 and a mismatch", n, err)
	}
	if mm := err.(*MismatchError); mm.Offset != 25 {
		t.Fatalf("mismatch offset %d, want 25", mm.Offset)
	}
}

func TestCheckLength(t *testing.T) {
	if err := CheckLength(10, 10, nil); err != nil {
		t.Errorf("equal lengths: %v", err)
	}
	short := CheckLength(10, 4, io.EOF)
	var le *LengthError
	if !errors.As(short, &le) || le.Expected != 10 || le.Got != 4 || le.Err != nil {
		t.Fatalf("short: %#v, want LengthError{10, 4, nil} (a clean EOF is not a cause)", short)
	}
	if !errors.Is(short, ErrShortRead) || errors.Is(short, ErrLongRead) || errors.Is(short, ErrMismatch) {
		t.Errorf("short: classified wrong: %v", short)
	}
	long := CheckLength(10, 11, nil)
	if !errors.Is(long, ErrLongRead) || errors.Is(long, ErrShortRead) {
		t.Errorf("long: classified wrong: %v", long)
	}
	cut := CheckLength(10, 4, io.ErrUnexpectedEOF)
	if !errors.Is(cut, ErrShortRead) || !errors.Is(cut, io.ErrUnexpectedEOF) {
		t.Errorf("cut: %v should be both ErrShortRead and io.ErrUnexpectedEOF", cut)
	}
}

func TestVerify(t *testing.T) {
	const seed, size = 3, 100_000
	c := NewContent(seed)

	n, err := Verify(c.Reader(size), seed, size)
	if err != nil || n != size {
		t.Errorf("good payload: %d, %v; want %d, nil", n, err, size)
	}

	n, err = Verify(c.Reader(size), seed+1, size)
	var mm *MismatchError
	if !errors.As(err, &mm) || mm.Offset > 8 || n != mm.Offset {
		t.Errorf("wrong seed: %d, %v; want a mismatch in the first block", n, err)
	}

	n, err = Verify(c.Reader(size-1), seed, size)
	if !errors.Is(err, ErrShortRead) || n != size-1 {
		t.Errorf("one byte short: %d, %v; want %d, ErrShortRead", n, err, size-1)
	}

	n, err = Verify(c.Reader(size+1), seed, size)
	if !errors.Is(err, ErrLongRead) || n != size+1 {
		t.Errorf("one byte long: %d, %v; want %d, ErrLongRead", n, err, size+1)
	}

	cut := io.MultiReader(c.Reader(777), iotest.ErrReader(io.ErrUnexpectedEOF))
	n, err = Verify(cut, seed, size)
	if !errors.Is(err, ErrShortRead) || !errors.Is(err, io.ErrUnexpectedEOF) || n != 777 {
		t.Errorf("cut stream: %d, %v; want 777, ErrShortRead wrapping io.ErrUnexpectedEOF", n, err)
	}

	boom := errors.New("boom")
	n, err = Verify(io.MultiReader(c.Reader(size), iotest.ErrReader(boom)), seed, size)
	if !errors.Is(err, boom) || errors.Is(err, ErrShortRead) || n != size {
		t.Errorf("error after full length: %d, %v; want %d and the read error, not a short read", n, err, size)
	}

	n, err = Verify(c.Reader(123), seed, -1)
	if err != nil || n != 123 {
		t.Errorf("unchecked length: %d, %v; want 123, nil", n, err)
	}
}
