package scenarios

import (
	"errors"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// Bounds of the embedded network's shape and of the target's confinement.
const (
	// MinTestnetCPU is the smallest CPU quota, in cores: below it the
	// relay crawls and the kernel's 1 ms minimum per period is near.
	MinTestnetCPU = 0.05
	// MinTestnetMemory is the smallest memory limit: tor itself needs tens
	// of MiB before it carries a cell.
	MinTestnetMemory = ByteSize(64 << 20)
	// MaxTestnetRelays bounds exits and middles: every relay is a tor
	// process sharing the machine with the target.
	MaxTestnetRelays = 8
	// defaultTestnetRelays is the number of exits and of middles.
	defaultTestnetRelays = 1
)

// applyDefaults fills in the default network shape.
func (t *TestnetTarget) applyDefaults() {
	if t.Exits == 0 {
		t.Exits = defaultTestnetRelays
	}
	if t.Middles == 0 {
		t.Middles = defaultTestnetRelays
	}
	if len(t.ConsensusParams) == 0 {
		t.ConsensusParams = nil
	}
}

// check checks the network shape, the confinement and the tor binary.
func (t *TestnetTarget) check(c *checker) *Error {
	if cpus := runtime.NumCPU(); t.CPU != 0 && (math.IsNaN(t.CPU) || t.CPU < MinTestnetCPU) {
		return c.errf("target.testnet.cpu", "%s cores is below the minimum of %g: use e.g. 0.25 (a quarter of one core), or remove it to leave the relay unconfined",
			ftoa(t.CPU), MinTestnetCPU)
	} else if t.CPU > float64(cpus) {
		return c.errf("target.testnet.cpu", "%s cores is more than this machine's %d CPUs: use at most %d, or remove it to leave the relay unconfined",
			ftoa(t.CPU), cpus, cpus)
	}
	if t.Memory != 0 && t.Memory < MinTestnetMemory {
		return c.errf("target.testnet.memory", "%s is below %s: tor needs tens of MiB before it relays anything; use e.g. 512MiB, or remove it for no limit",
			t.Memory, MinTestnetMemory)
	}
	for _, f := range []struct {
		name string
		n    int
	}{{"exits", t.Exits}, {"middles", t.Middles}} {
		// 0 is the default (1), as in a scenario built in Go.
		if f.n < 0 || f.n > MaxTestnetRelays {
			return c.errf("target.testnet."+f.name, "%d is out of range: use 1 to %d (default %d)", f.n, MaxTestnetRelays, defaultTestnetRelays)
		}
	}
	if err := checkTorBinary(c, "target.testnet.tor", t.Tor); err != nil {
		return err
	}
	return checkConsensusParams(c, "target.testnet.consensus_params", t.ConsensusParams)
}

// checkTorBinary checks that a tor field names an executable file: an
// absolute path, or a command name found in PATH. A relative path is
// refused, since it would depend on the directory relaybench runs in.
func checkTorBinary(c *checker, path, tor string) *Error {
	switch {
	case tor == "":
		return nil
	case !strings.Contains(tor, "/"):
		if _, err := exec.LookPath(tor); err != nil {
			return c.errf(path, "%s is not a command in PATH; give the absolute path of a tor executable, e.g. /usr/bin/tor or a build's src/app/tor", quote(tor))
		}
		return nil
	case !filepath.IsAbs(tor):
		return c.errf(path, "%s is a relative path; give the absolute path of the tor executable (e.g. %s)", quote(tor), quote(absOr(tor)))
	}
	st, err := os.Stat(tor)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return c.errf(path, "%s does not exist; give the path of a tor executable, e.g. /usr/bin/tor or a build's src/app/tor", quote(tor))
	case err != nil:
		return c.errf(path, "%s: %v", quote(tor), err)
	case st.IsDir():
		return c.errf(path, "%s is a directory; give the path of the tor executable in it (a build's src/app/tor)", quote(tor))
	case st.Mode().Perm()&0o111 == 0:
		return c.errf(path, "%s is not executable; chmod +x it or give the path of a tor executable", quote(tor))
	}
	return nil
}

func absOr(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
