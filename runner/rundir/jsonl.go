package rundir

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// Writer writes records of type T as JSON lines: one Write call per record,
// serialised, so that concurrent writers never interleave and a crash loses
// at most the record being written. When the underlying writer has a
// Flush() error method (a bufio.Writer), it is flushed after every record.
//
// The first error (encoding or writing) is kept: every later Write returns
// it without writing, so that a run stops at the first record that did not
// reach the disk instead of leaving a gap in the middle of a file.
type Writer[T any] struct {
	mu   sync.Mutex
	w    io.Writer
	file *os.File // set when the Writer opened the file (Append)
	name string
	buf  []byte
	err  error
}

// AppendJSONer is implemented by a record with a hand-written encoding
// (ScrapeRecord); Writer uses it instead of encoding/json.
type AppendJSONer interface {
	// AppendJSON appends the record as one JSON object without newline.
	AppendJSON(b []byte) []byte
}

// NewWriter returns a Writer of T records to w; name (a file name such as
// RequestsFile) appears in its errors.
func NewWriter[T any](w io.Writer, name string) *Writer[T] {
	return &Writer[T]{w: w, name: name}
}

// OpenAppend opens the raw file dir/name for appending, creating it if
// needed. Appending lets the repetitions of a variant, each with a target
// of its own, accumulate in one run directory.
func OpenAppend(dir, name string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	return f, nil
}

// Append opens dir/name with OpenAppend and returns a Writer that owns the
// file: Close closes it.
func Append[T any](dir, name string) (*Writer[T], error) {
	f, err := OpenAppend(dir, name)
	if err != nil {
		return nil, err
	}
	return &Writer[T]{w: f, file: f, name: name}, nil
}

// Write writes rec as one line. It returns the Writer's first error.
func (w *Writer[T]) Write(rec T) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	if a, ok := any(rec).(AppendJSONer); ok {
		w.buf = a.AppendJSON(w.buf[:0])
	} else {
		b, err := json.Marshal(rec)
		if err != nil {
			w.err = fmt.Errorf("encode a %s record: %w", w.name, err)
			return w.err
		}
		w.buf = append(w.buf[:0], b...)
	}
	w.buf = append(w.buf, '\n')
	if _, err := w.w.Write(w.buf); err != nil {
		w.err = w.writeError("write", err)
		return w.err
	}
	if f, ok := w.w.(interface{ Flush() error }); ok {
		if err := f.Flush(); err != nil {
			w.err = w.writeError("flush", err)
			return w.err
		}
	}
	return nil
}

// ErrWrite is wrapped by the error of a Writer whose record did not reach
// its file: the run that writes it must stop, since going on would leave a
// hole in what it recorded.
var ErrWrite = errors.New("a raw file could not be written")

// writeError names the file (its path when the writer is a file) and the
// file system to check.
func (w *Writer[T]) writeError(op string, err error) error {
	path := w.name
	if n, ok := w.w.(interface{ Name() string }); ok && filepath.Base(n.Name()) == w.name {
		path = n.Name()
	}
	var pe *os.PathError
	if errors.As(err, &pe) && pe.Path == path {
		err = pe.Err // the path is said once
	}
	dir := filepath.Dir(path)
	if dir == "." {
		return fmt.Errorf("%w: %s %s: %w: check the disk holding the run directory; what was recorded before is kept", ErrWrite, op, path, err)
	}
	return fmt.Errorf("%w: %s %s: %w: check the file system holding %s (df -h %s); what was recorded before is kept", ErrWrite, op, path, err, dir, dir)
}

// Err returns the first error of a Write, nil if none failed.
func (w *Writer[T]) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Close closes the file a Writer from Append owns (nothing for NewWriter)
// and returns the first error of a Write or of the close.
func (w *Writer[T]) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.file != nil {
		if err := w.file.Close(); err != nil && w.err == nil {
			w.err = fmt.Errorf("close %s: %w", w.name, err)
		}
		w.file = nil
	}
	return w.err
}

// Lines is what ReadLines read.
type Lines[T any] struct {
	// Records are the records of the lines that decoded, in file order.
	Records []T
	// TruncatedLast is true when the last line was cut short: it does not
	// end in a newline and does not decode, which is what a crash in the
	// middle of a Write leaves. That line is dropped; it is not damage.
	TruncatedLast bool
}

// maxDamagedLines is how many damaged line numbers a BadLinesError lists.
const maxDamagedLines = 5

// BadLinesError reports the lines of a JSON-lines file that did not decode
// and are not a cut-short last line: the file is damaged there. Those
// lines were skipped; every line that decoded, before and after them, was
// read.
type BadLinesError struct {
	// File is the file's name.
	File string
	// Count is the number of damaged lines; Lines holds the 1-based
	// numbers of the first few (at most 5).
	Count int
	Lines []int
	// Records is the number of lines that decoded.
	Records int
	// Err is the decoding error of the first damaged line.
	Err error
}

// Error names the file, the damaged lines and what was kept.
func (e *BadLinesError) Error() string {
	where := fmt.Sprintf("line %d", e.Lines[0])
	if e.Count > 1 {
		var nums []string
		for _, n := range e.Lines {
			nums = append(nums, strconv.Itoa(n))
		}
		where = "lines " + strings.Join(nums, ", ")
		if e.Count > len(e.Lines) {
			where += ", ..."
		}
	}
	return fmt.Sprintf("%s: %d damaged %s skipped (%s: %v); the %d good %s read",
		e.File, e.Count, plural(e.Count, "line", "lines"), where, e.Err, e.Records, plural(e.Records, "line was", "lines were"))
}

// Unwrap returns the decoding error of the first damaged line.
func (e *BadLinesError) Unwrap() error { return e.Err }

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// ReadLines reads JSON lines of T from r; name (a file name) appears in
// errors. This is the one rule of every raw file: blank lines are skipped;
// a last line without its newline that does not decode is dropped and
// reported as TruncatedLast (a crash mid-write); any other line that does
// not decode is skipped and counted, and reading goes on, so that one bad
// line never hides the records after it. The error is then a *BadLinesError,
// returned with every record that decoded. Any other error is a read
// error, returned with the records before it.
func ReadLines[T any](r io.Reader, name string) (Lines[T], error) {
	var out Lines[T]
	var damage *BadLinesError
	br := bufio.NewReaderSize(r, 64<<10)
	for line := 1; ; line++ {
		b, err := br.ReadBytes('\n')
		complete := len(b) > 0 && b[len(b)-1] == '\n'
		if b = bytes.TrimSpace(b); len(b) > 0 {
			var v T
			if jerr := json.Unmarshal(b, &v); jerr != nil {
				if !complete && errors.Is(err, io.EOF) {
					out.TruncatedLast = true
				} else {
					if damage == nil {
						damage = &BadLinesError{File: name, Err: jerr}
					}
					damage.Count++
					if len(damage.Lines) < maxDamagedLines {
						damage.Lines = append(damage.Lines, line)
					}
				}
			} else {
				out.Records = append(out.Records, v)
			}
		}
		if errors.Is(err, io.EOF) {
			if damage != nil {
				damage.Records = len(out.Records)
				return out, damage
			}
			return out, nil
		}
		if err != nil {
			return out, fmt.Errorf("read %s after line %d: %w", name, line-1, err)
		}
	}
}

// ReadFile reads the JSON-lines file dir/name with ReadLines. A missing
// file is an error that wraps fs.ErrNotExist.
func ReadFile[T any](dir, name string) (Lines[T], error) {
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		return Lines[T]{}, err
	}
	defer f.Close()
	return ReadLines[T](f, name)
}
