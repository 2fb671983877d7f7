package cgroup

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/relaybench/relaybench/runner/rundir"
)

// Stat is what a group's files say now: the limits in force and the CPU
// bandwidth counters that show whether the quota held its processes back.
// The counters are cumulative since the group was created; compare two
// Stats to see a window.
type Stat struct {
	// QuotaCores is the CPU quota in force (cpu.max or cpu.cfs_quota_us
	// over the period); 0 when the group has no CPU limit.
	QuotaCores float64
	// Periods counts the enforcement periods in which the group had
	// runnable work (nr_periods).
	Periods int64
	// Throttled counts the periods in which it used up its quota and was
	// held back until the next period (nr_throttled).
	Throttled int64
	// ThrottledTime is the total time its threads spent held back
	// (throttled_time in ns on v1, throttled_usec on v2).
	ThrottledTime time.Duration
	// MemoryLimitBytes is the memory limit in force; 0 when none.
	MemoryLimitBytes int64
}

// Sample reads the group's limits and counters as processes.jsonl records
// them (procstat.CgroupReader): a group that could not be read gives a
// sample with Err set, so a sampling interval is never lost to it.
func (g *Group) Sample() *rundir.CgroupSample { return SampleOf(g.Stat()) }

// SampleOf turns a Stat (or the error reading it) into the record of
// processes.jsonl.
func SampleOf(st Stat, err error) *rundir.CgroupSample {
	if err != nil {
		return &rundir.CgroupSample{Err: err.Error()}
	}
	return &rundir.CgroupSample{
		QuotaCores: st.QuotaCores, Periods: st.Periods, Throttled: st.Throttled,
		ThrottledSeconds: st.ThrottledTime.Seconds(), MemoryLimitBytes: st.MemoryLimitBytes,
	}
}

// Stat reads the group's limits and counters.
func (g *Group) Stat() (Stat, error) {
	var st Stat
	for _, d := range g.dirs {
		if d.cpu {
			if err := d.readCPU(&st); err != nil {
				return Stat{}, err
			}
		}
		if d.memory {
			file := "memory.limit_in_bytes"
			if d.v2 {
				file = "memory.max"
			}
			n, err := readLimit(filepath.Join(d.path, file))
			if err != nil {
				return Stat{}, err
			}
			st.MemoryLimitBytes = n
		}
	}
	return st, nil
}

func (d groupDir) readCPU(st *Stat) error {
	if d.v2 {
		p := filepath.Join(d.path, "cpu.max")
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		f := strings.Fields(string(data))
		if len(f) != 2 {
			return fmt.Errorf("%s: unexpected content %q", p, data)
		}
		if f[0] != "max" {
			quota, err1 := strconv.ParseFloat(f[0], 64)
			period, err2 := strconv.ParseFloat(f[1], 64)
			if err1 != nil || err2 != nil || period <= 0 {
				return fmt.Errorf("%s: unexpected content %q", p, data)
			}
			st.QuotaCores = quota / period
		}
	} else {
		quota, err := readInt(filepath.Join(d.path, "cpu.cfs_quota_us"))
		if err != nil {
			return err
		}
		period, err := readInt(filepath.Join(d.path, "cpu.cfs_period_us"))
		if err != nil {
			return err
		}
		if quota > 0 && period > 0 {
			st.QuotaCores = float64(quota) / float64(period)
		}
	}
	counters, err := readKeyed(filepath.Join(d.path, "cpu.stat"))
	if err != nil {
		return err
	}
	st.Periods, st.Throttled = counters["nr_periods"], counters["nr_throttled"]
	if ns, ok := counters["throttled_time"]; ok {
		st.ThrottledTime = time.Duration(ns)
	} else {
		st.ThrottledTime = time.Duration(counters["throttled_usec"]) * time.Microsecond
	}
	return nil
}

func readInt(path string) (int64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return n, nil
}

// unlimited is where cgroup v1 memory limits mean "none" (it reports
// PAGE_COUNTER_MAX pages: 9223372036854771712 on x86-64).
const unlimited = int64(1) << 60

// ParseMemoryLimit parses the content of memory.max (v2) or
// memory.limit_in_bytes (v1): the limit in bytes, or 0 when there is none
// ("max" on v2, a number near 2^63 on v1).
func ParseMemoryLimit(content string) (int64, error) {
	s := strings.TrimSpace(content)
	if s == "max" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("not a number or \"max\": %q", s)
	}
	if n >= unlimited {
		return 0, nil
	}
	return n, nil
}

func readLimit(path string) (int64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	n, err := ParseMemoryLimit(string(data))
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return n, nil
}

// readKeyed reads a flat keyed file such as cpu.stat ("key value" lines).
func readKeyed(path string) (map[string]int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]int64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
			out[k] = n
		}
	}
	return out, sc.Err()
}
