package envinfo

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/textproto"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/cretz/bine/control"
)

// GetConfFunc returns a QueryFunc that issues GETCONF for the keys on conn
// (an authenticated bine control connection) and returns the values by
// the option names tor prints (its canonical spelling). An option that is
// unset and has no default comes back from tor as the bare key; its value
// is "". Repeated options are joined with ", ".
//
// bine's requests cannot be cancelled: when ctx ends first, the query
// returns ctx's error and the request finishes in the background, its
// answer discarded.
func GetConfFunc(conn *control.Conn) QueryFunc {
	return func(ctx context.Context, keys []string) (map[string]string, error) {
		if len(keys) == 0 {
			return map[string]string{}, nil
		}
		return callBine(ctx, func() ([]*control.KeyVal, error) { return conn.GetConf(keys...) })
	}
}

// GetInfoFunc returns a QueryFunc that issues GETINFO for the keys on conn,
// like GetConfFunc.
func GetInfoFunc(conn *control.Conn) QueryFunc {
	return func(ctx context.Context, keys []string) (map[string]string, error) {
		if len(keys) == 0 {
			return map[string]string{}, nil
		}
		return callBine(ctx, func() ([]*control.KeyVal, error) { return conn.GetInfo(keys...) })
	}
}

func callBine(ctx context.Context, f func() ([]*control.KeyVal, error)) (map[string]string, error) {
	type result struct {
		kvs []*control.KeyVal
		err error
	}
	ch := make(chan result, 1)
	go func() {
		kvs, err := f()
		ch <- result{kvs, err}
	}()
	select {
	case <-ctx.Done():
		return nil, fmt.Errorf("control port did not answer: %w", ctx.Err())
	case r := <-ch:
		if r.err != nil {
			return nil, r.err
		}
		out := make(map[string]string, len(r.kvs))
		for _, kv := range r.kvs {
			if prev, ok := out[kv.Key]; ok && prev != "" {
				out[kv.Key] = prev + ", " + kv.Val
			} else {
				out[kv.Key] = kv.Val
			}
		}
		return out, nil
	}
}

// unrecognizedKey is tor's reply code when a GETCONF or GETINFO key is
// unknown ("552 Unrecognized configuration key"); one such key fails the
// whole request.
const unrecognizedKey = 552

// ask queries keys with q. When tor rejects the batch because of an
// unknown key (an older tor, say), it asks key by key, so that one unknown
// option does not hide the others; problems lists the keys that failed or
// were not returned. err is set when nothing could be read.
func (c *capturer) ask(ctx context.Context, q QueryFunc, keys []string) (vals map[string]string, problems []string, err error) {
	vals, err = c.query(ctx, q, keys)
	if err == nil {
		return vals, notReturned(vals, keys), nil
	}
	var perr *textproto.Error
	if !errors.As(err, &perr) || perr.Code != unrecognizedKey || len(keys) == 1 {
		return nil, nil, err
	}
	vals = map[string]string{}
	for _, k := range keys {
		v, kerr := c.query(ctx, q, []string{k})
		if kerr != nil {
			problems = append(problems, k+": "+kerr.Error())
			if ctx.Err() != nil {
				break
			}
			continue
		}
		maps.Copy(vals, v)
	}
	if len(vals) == 0 {
		return nil, problems, err
	}
	return vals, problems, nil
}

// query runs q with the per-query timeout, turning a panic into an error:
// Capture must not fail because a caller's QueryFunc did.
func (c *capturer) query(ctx context.Context, q QueryFunc, keys []string) (vals map[string]string, err error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.queryTimeout)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			vals, err = nil, fmt.Errorf("query %v panicked: %v", keys, r)
		}
	}()
	return q(ctx, keys)
}

func notReturned(vals map[string]string, keys []string) []string {
	var missing []string
	for _, k := range keys {
		found := false
		for got := range vals {
			if strings.EqualFold(got, k) {
				found = true
				break
			}
		}
		if !found {
			missing = append(missing, k+": not returned")
		}
	}
	return missing
}

// getInfo reads GETINFO keys. Keys that could not be read are missing from
// the map; err describes them.
func (c *capturer) getInfo(ctx context.Context, q QueryFunc, keys ...string) (map[string]string, error) {
	vals, problems, err := c.ask(ctx, q, keys)
	if err != nil {
		return vals, err
	}
	if len(problems) > 0 {
		return vals, errors.New(strings.Join(problems, "; "))
	}
	return vals, nil
}

type versionResult struct {
	version string
	err     error
}

// torVersionRE matches the first line of `tor --version`: "Tor version
// 0.4.9.11." or "Tor version 0.4.9.0-alpha-dev (git-0123456789abcdef)."
var torVersionRE = regexp.MustCompile(`Tor version (\S+?)\.?(?:\s|$)`)

// ParseTorVersion extracts the version from the output of `tor --version`.
func ParseTorVersion(out string) (string, error) {
	m := torVersionRE.FindStringSubmatch(out)
	if m == nil {
		first, _, _ := strings.Cut(strings.TrimSpace(out), "\n")
		return "", fmt.Errorf("no \"Tor version\" in the output %q", first)
	}
	return m[1], nil
}

// binaryVersion runs `bin --version` once per binary and Capture call.
func (c *capturer) binaryVersion(ctx context.Context, bin string) (string, error) {
	if r, ok := c.versions[bin]; ok {
		return r.version, r.err
	}
	timeout := c.cfg.queryTimeout
	if timeout < 10*time.Second {
		timeout = 10 * time.Second // a cold start of tor can take seconds on a loaded machine
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--version")
	cmd.WaitDelay = time.Second
	out, err := cmd.Output()
	var r versionResult
	switch {
	case ctx.Err() != nil:
		r.err = fmt.Errorf("%s --version did not finish within %s: %w", bin, timeout, ctx.Err())
	case err != nil:
		var ee *exec.ExitError
		if errors.As(err, &ee) && len(ee.Stderr) > 0 {
			err = fmt.Errorf("%w: %s", err, strings.TrimSpace(string(ee.Stderr)))
		}
		r.err = fmt.Errorf("run %s --version: %w", bin, err)
	default:
		r.version, r.err = ParseTorVersion(string(out))
		if r.err != nil {
			r.err = fmt.Errorf("%s --version: %w", bin, r.err)
		}
	}
	c.versions[bin] = r
	return r.version, r.err
}

// memoryUnits are tor's units for memory options (config.c memory_units),
// lower case. Tor's "MB" and "GB" are powers of two.
var memoryUnits = map[string]int64{
	"": 1, "b": 1, "byte": 1, "bytes": 1,
	"kb": 1 << 10, "kbyte": 1 << 10, "kbytes": 1 << 10, "kilobyte": 1 << 10, "kilobytes": 1 << 10,
	"kbit": 1 << 7, "kbits": 1 << 7, "kilobit": 1 << 7, "kilobits": 1 << 7,
	"m": 1 << 20, "mb": 1 << 20, "mbyte": 1 << 20, "mbytes": 1 << 20, "megabyte": 1 << 20, "megabytes": 1 << 20,
	"mbit": 1 << 17, "mbits": 1 << 17, "megabit": 1 << 17, "megabits": 1 << 17,
	"gb": 1 << 30, "gbyte": 1 << 30, "gbytes": 1 << 30, "gigabyte": 1 << 30, "gigabytes": 1 << 30,
	"gbit": 1 << 27, "gbits": 1 << 27, "gigabit": 1 << 27, "gigabits": 1 << 27,
	"tb": 1 << 40, "tbyte": 1 << 40, "tbytes": 1 << 40, "terabyte": 1 << 40, "terabytes": 1 << 40,
	"tbit": 1 << 37, "tbits": 1 << 37, "terabit": 1 << 37, "terabits": 1 << 37,
}

// ParseMemUnit parses a tor memory value: what GETCONF prints (bytes, as
// "314572800") or what a torrc says ("300 MB", "8 GBytes"), in tor's
// binary units. An empty string is 0 (unset).
func ParseMemUnit(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("memory value %q does not start with a number", s)
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("memory value %q: %w", s, err)
	}
	unit := strings.ToLower(strings.TrimSpace(s[i:]))
	mult, ok := memoryUnits[unit]
	if !ok {
		return 0, fmt.Errorf("memory value %q: unknown unit %q", s, unit)
	}
	if n > (1<<63-1)/mult {
		return 0, fmt.Errorf("memory value %q overflows", s)
	}
	return n * mult, nil
}
