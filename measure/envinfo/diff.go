package envinfo

import (
	"cmp"
	"slices"
	"strconv"
)

// Difference is one way two environments differ.
type Difference struct {
	// Key names what differs: "machine/ram_bytes", "sysctl/net.core.somaxconn",
	// "process/<name>/tor_version", "target/option/BandwidthRate",
	// "target/memory_budget/bytes", ...
	Key string `json:"key"`
	// A and B are the values in the first and second environment; Absent
	// when one side does not have the key at all.
	A string `json:"a"`
	B string `json:"b"`
}

// Absent is the value of a Difference side that lacks the key.
const Absent = "(absent)"

// Diff lists the differences between two environments that can change a
// result: versions, the machine, sysctls, the processes' tor versions,
// binaries and limits (matched by name), the target's options and memory
// budget. It ignores when they were captured, PIDs, notes and error text.
// The result is sorted by Key; nil means no difference (or a nil side).
func Diff(a, b *Env) []Difference {
	if a == nil || b == nil {
		return nil
	}
	fa, fb := flatten(a), flatten(b)
	var out []Difference
	for k, va := range fa {
		vb, ok := fb[k]
		if !ok {
			vb = Absent
		}
		if va != vb {
			out = append(out, Difference{Key: k, A: va, B: vb})
		}
	}
	for k, vb := range fb {
		if _, ok := fa[k]; !ok {
			out = append(out, Difference{Key: k, A: Absent, B: vb})
		}
	}
	slices.SortFunc(out, func(x, y Difference) int { return cmp.Compare(x.Key, y.Key) })
	return out
}

// flatten turns the comparable parts of e into key/value pairs. Zero
// numbers mean "unknown" and are left out, so an unknown value shows as
// Absent.
func flatten(e *Env) map[string]string {
	m := map[string]string{}
	put := func(k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	putInt := func(k string, v int64) {
		if v != 0 {
			m[k] = strconv.FormatInt(v, 10)
		}
	}
	put("relaybench_version", e.Relaybench)
	mc := e.Machine
	put("machine/kernel_release", mc.KernelRelease)
	put("machine/kernel_version", mc.KernelVersion)
	put("machine/arch", mc.Arch)
	put("machine/cpu_model", mc.CPUModel)
	putInt("machine/cores", int64(mc.Cores))
	putInt("machine/cpuinfo_processors", int64(mc.CPUInfoProcessors))
	putInt("machine/ram_bytes", mc.RAMBytes)
	put("machine/go_version", mc.GoVersion)
	for k, v := range e.Sysctls {
		m["sysctl/"+k] = v
	}
	for _, p := range e.Processes {
		pre := "process/" + p.Name + "/"
		m[pre+"role"] = string(p.Role)
		put(pre+"binary", p.Binary)
		put(pre+"tor_version", p.TorVersion)
		putInt(pre+"nofile_soft", p.NoFileSoft)
		putInt(pre+"nofile_hard", p.NoFileHard)
		putInt(pre+"tor_descriptor_limit", p.TorDescriptorLimit)
		putInt(pre+"cgroup_memory_limit_bytes", p.CgroupMemoryLimitBytes)
	}
	if t := e.Target; t != nil {
		m["target/name"] = t.Name
		for k, v := range t.Options {
			m["target/option/"+k] = v // "" (unset) is a value here
		}
		if mb := t.MemoryBudget; mb != nil {
			putInt("target/memory_budget/bytes", mb.Bytes)
			put("target/memory_budget/rule", mb.Rule)
		}
		for k, v := range t.ConsensusParams {
			m["target/consensus_param/"+k] = v
		}
	}
	return m
}
