package cgroup

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// system is where the kernel's cgroup view is read from: the real /proc in
// production, files in a temporary directory in tests.
type system struct {
	// mountinfo and selfCgroup are /proc/self/mountinfo and /proc/self/cgroup.
	mountinfo, selfCgroup string
	// procRoot is /proc, to tell whether a PID still runs.
	procRoot string
}

var hostSystem = system{mountinfo: "/proc/self/mountinfo", selfCgroup: "/proc/self/cgroup", procRoot: "/proc"}

// mount is one cgroup line of mountinfo.
type mount struct {
	// root is the path of the hierarchy mounted (field 4; "/" unless a
	// cgroup namespace or a bind mount shows only a subtree).
	root string
	// point is where it is mounted.
	point string
	// v2 is true for cgroup2, false for a cgroup v1 hierarchy.
	v2 bool
	// controllers are a v1 mount's controllers (from its super options).
	controllers []string
}

// parseMountinfo returns the cgroup and cgroup2 mounts of a mountinfo file
// (proc(5): ID PARENT MAJ:MIN ROOT POINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS).
func parseMountinfo(data []byte) []mount {
	var out []mount
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		f, g := strings.Fields(pre), strings.Fields(post)
		if len(f) < 5 || len(g) < 1 || (g[0] != "cgroup" && g[0] != "cgroup2") {
			continue
		}
		m := mount{root: unescapeMountPath(f[3]), point: unescapeMountPath(f[4]), v2: g[0] == "cgroup2"}
		if !m.v2 && len(g) >= 3 {
			for _, o := range strings.Split(g[2], ",") {
				if o != "rw" && o != "ro" && !strings.Contains(o, "=") {
					m.controllers = append(m.controllers, o)
				}
			}
		}
		out = append(out, m)
	}
	return out
}

// unescapeMountPath undoes mountinfo's octal escapes (\040 for a space).
func unescapeMountPath(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var c byte
			if _, err := fmt.Sscanf(s[i+1:i+4], "%03o", &c); err == nil {
				b.WriteByte(c)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// membership is /proc/self/cgroup: the v2 path ("0::PATH") and the v1 path
// of each controller ("N:cpu,cpuacct:PATH").
type membership struct {
	v2     string
	hasV2  bool
	byCtrl map[string]string
}

func parseSelfCgroup(data []byte) membership {
	m := membership{byCtrl: map[string]string{}}
	for line := range strings.SplitSeq(string(data), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			m.v2, m.hasV2 = parts[2], true
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			m.byCtrl[c] = parts[2]
		}
	}
	return m
}

// hierarchy is where a controller's groups are created.
type hierarchy struct {
	v2 bool
	// base is the directory the group directories are created in.
	base string
	// enable, on v2, is true when base's cgroup.subtree_control does not
	// list the controller yet and "+controller" must be written to it.
	enable bool
}

// pathIn maps a cgroup path of /proc/self/cgroup to a directory under m. A
// path outside the mount's root (a cgroup namespace whose root is mounted,
// while /proc/self/cgroup still names the host path) maps to the mount
// point itself, as does a path that does not exist there.
func pathIn(m mount, cgPath string) string {
	rel, err := filepath.Rel(m.root, cgPath)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return m.point
	}
	dir := filepath.Join(m.point, rel)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return m.point
	}
	return dir
}

// locate finds the hierarchy for controller ctrl ("cpu" or "memory"):
// cgroup v2 when the unified hierarchy has the controller, else the cgroup
// v1 hierarchy it is mounted on. The error says what was found instead.
func (s system) locate(ctrl string) (hierarchy, error) {
	mi, err := os.ReadFile(s.mountinfo)
	if err != nil {
		return hierarchy{}, fmt.Errorf("read %s: %w", s.mountinfo, err)
	}
	self, err := os.ReadFile(s.selfCgroup)
	if err != nil {
		return hierarchy{}, fmt.Errorf("read %s: %w", s.selfCgroup, err)
	}
	mounts, member := parseMountinfo(mi), parseSelfCgroup(self)
	var tried []string
	for _, m := range mounts {
		if !m.v2 || !member.hasV2 {
			continue
		}
		own := pathIn(m, member.v2)
		// A v2 cgroup with processes cannot also have children with
		// controllers ("no internal processes"), except the root: groups go
		// beside the harness's own cgroup, in its parent, unless the
		// harness sits at the top of what it can see.
		base := own
		if own != m.point {
			base = filepath.Dir(own)
		}
		available := readList(filepath.Join(base, "cgroup.controllers"))
		if !slices.Contains(available, ctrl) {
			tried = append(tried, fmt.Sprintf("cgroup v2 at %s has no %s controller (%s lists %q)",
				m.point, ctrl, filepath.Join(base, "cgroup.controllers"), strings.Join(available, " ")))
			continue
		}
		enabled := readList(filepath.Join(base, "cgroup.subtree_control"))
		return hierarchy{v2: true, base: base, enable: !slices.Contains(enabled, ctrl)}, nil
	}
	for _, m := range mounts {
		if m.v2 || !slices.Contains(m.controllers, ctrl) {
			continue
		}
		cgPath, ok := member.byCtrl[ctrl]
		if !ok {
			cgPath = "/"
		}
		// v1 allows processes and child groups side by side: the group
		// goes inside the harness's own cgroup, within its limits.
		return hierarchy{base: pathIn(m, cgPath)}, nil
	}
	tried = append(tried, fmt.Sprintf("no cgroup v1 hierarchy with the %s controller is mounted", ctrl))
	return hierarchy{}, fmt.Errorf("no cgroup hierarchy offers the %s controller: %s (see %s)", ctrl, strings.Join(tried, "; "), s.mountinfo)
}

// readList reads a space-separated list file such as cgroup.controllers;
// a missing file is an empty list.
func readList(path string) []string {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	return strings.Fields(string(data))
}
