package scenarios

import (
	"errors"
	"strconv"
	"strings"
)

// Error is one problem with a scenario, as values: where it is and what is
// wrong. Error() formats it as
//
//	scenario FILE:LINE: FIELD: MESSAGE
//
// where FILE:LINE is left out when unknown (":LINE" alone when only the
// line is unknown, e.g. for a missing top-level field or a scenario built
// in Go) and "FIELD: " is left out for problems with the file as a whole
// (YAML syntax, an empty file).
type Error struct {
	// File names the scenario as given to Parse (the path for Load); it
	// may be empty for a scenario built in Go.
	File string
	// Line and Column are 1-based; 0 when unknown. They point at the
	// offending key, list item or value, or, for a missing field, at the
	// closest enclosing field present in the file.
	Line, Column int
	// Field is the dotted path of the offending field with 0-based list
	// indexes, e.g. "ramp.steps[1]" or "variants[0].torrc.ConnLimit"; ""
	// for problems with the file as a whole.
	Field string
	// Msg says what is wrong and what to do about it.
	Msg string
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("scenario")
	if e.File != "" {
		b.WriteString(" " + e.File)
		if e.Line > 0 {
			b.WriteString(":" + strconv.Itoa(e.Line))
		}
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ErrorList is several problems with one scenario file, in file order.
// Parse returns one when decoding finds more than one problem (wrong types,
// unknown or duplicated fields), so that they can all be fixed at once; a
// single problem is returned as a plain *Error. errors.As(err, &e) with e
// an *Error always yields the first problem; Problems yields them all.
type ErrorList []*Error

// Error implements error: one problem per line.
func (l ErrorList) Error() string {
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the problems, for errors.Is and errors.As.
func (l ErrorList) Unwrap() []error {
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errs
}

// err returns nil for an empty list, its only problem for a list of one,
// and the list otherwise.
func (l ErrorList) err() error {
	switch len(l) {
	case 0:
		return nil
	case 1:
		return l[0]
	}
	return l
}

// Problems returns every scenario problem in err, in file order: the
// elements of an ErrorList, or the one *Error. It returns nil if err holds
// neither (e.g. it is nil).
func Problems(err error) []*Error {
	var l ErrorList
	if errors.As(err, &l) {
		return l
	}
	var e *Error
	if errors.As(err, &e) {
		return []*Error{e}
	}
	return nil
}
