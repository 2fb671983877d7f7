package chutney

import (
	"fmt"
	"os"
	"strings"
)

// TorrcOption is one torrc line: an option and its value, e.g.
// {"BandwidthRate", "2 MBytes"}.
type TorrcOption struct {
	Key   string
	Value string
}

// String renders the option as a torrc line.
func (o TorrcOption) String() string { return o.Key + " " + o.Value }

// ParseTorrcOption parses "Key=Value" or "Key Value" as given on a command
// line (`--set target.BandwidthRate=2MBytes`).
func ParseTorrcOption(s string) (TorrcOption, error) {
	s = strings.TrimSpace(s)
	key, value, ok := strings.Cut(s, "=")
	if !ok {
		key, value, ok = strings.Cut(s, " ")
	}
	key, value = strings.TrimSpace(key), strings.TrimSpace(value)
	if !ok || key == "" || value == "" {
		return TorrcOption{}, fmt.Errorf("torrc option %q: want Option=Value, e.g. BandwidthRate=2MBytes", s)
	}
	if strings.ContainsAny(key, " \t\n#") || strings.ContainsAny(value, "\n\r") {
		return TorrcOption{}, fmt.Errorf("torrc option %q: the option name must be one word and the value one line", s)
	}
	return TorrcOption{Key: key, Value: value}, nil
}

// torrc is an ordered list of torrc lines. Set replaces every earlier line of
// the same option (tor's options are case-insensitive), so overrides win over
// defaults without tor seeing two conflicting lines.
type torrc struct {
	lines []TorrcOption
}

func (t *torrc) add(key, value string) {
	t.lines = append(t.lines, TorrcOption{Key: key, Value: value})
}

func (t *torrc) addf(key, format string, args ...any) {
	t.add(key, fmt.Sprintf(format, args...))
}

// set replaces all lines of opt.Key with opt.
func (t *torrc) set(opt TorrcOption) {
	kept := t.lines[:0]
	for _, l := range t.lines {
		if !strings.EqualFold(l.Key, opt.Key) {
			kept = append(kept, l)
		}
	}
	t.lines = append(kept, opt)
}

func (t *torrc) String() string {
	var b strings.Builder
	b.WriteString("# Written by relaybench (package chutney). Regenerated at every start.\n")
	for _, l := range t.lines {
		b.WriteString(l.String())
		b.WriteByte('\n')
	}
	return b.String()
}

func (t *torrc) write(path string) error {
	if err := os.WriteFile(path, []byte(t.String()), 0o600); err != nil {
		return fmt.Errorf("write torrc: %w", err)
	}
	return nil
}

// testNetworkOptions are the options every node of the embedded network
// shares. They are a fast-bootstrap set: with them 3 authorities, an exit,
// the target and a client bootstrapped in about 27 s (tor 0.4.9.11, 2 cores).
// The voting intervals are tor's minimum for a testing network. Once the
// network is ready, the authorities vote every ReadyVotingInterval instead.
func testNetworkOptions(t *torrc, dirAuthorities []string) {
	t.add("TestingTorNetwork", "1")
	t.add("TestingV3AuthInitialVotingInterval", "5")
	t.add("TestingV3AuthInitialVoteDelay", "2")
	t.add("TestingV3AuthInitialDistDelay", "2")
	t.add("V3AuthVotingInterval", "10")
	t.add("V3AuthVoteDelay", "2")
	t.add("V3AuthDistDelay", "2")
	t.add("V3AuthNIntervalsValid", "2")
	t.add("TestingDirAuthVoteExit", "*")
	t.add("TestingDirAuthVoteGuard", "*")
	t.add("TestingDirAuthVoteHSDir", "*")
	t.add("TestingMinExitFlagThreshold", "0")
	t.add("PathsNeededToBuildCircuits", "0.67")
	for _, line := range dirAuthorities {
		t.add("DirAuthority", line)
	}
}

// commonOptions are the process-management options of every tor we start.
func commonOptions(t *torrc, dataDir string) {
	t.add("DataDirectory", dataDir)
	t.add("ControlPort", "127.0.0.1:auto")
	t.add("ControlPortWriteToFile", dataDir+"/"+controlPortFile)
	t.add("CookieAuthentication", "1")
	t.add("Log", "notice file "+dataDir+"/"+noticeLogFile)
	t.add("SafeLogging", "0")
	t.add("LogTimeGranularity", "1")
	// Exit at once on SIGNAL HALT/SIGINT instead of waiting 30 s for
	// connections to drain.
	t.add("ShutdownWaitLength", "0")
	t.add("RunAsDaemon", "0")
	// With Sandbox 1, tor 0.4.9.11 was seen with a SIGTERM stuck pending.
	t.add("Sandbox", "0")
	t.add("ClientUseIPv6", "0")
	t.add("GeoIPFile", dataDir+"/"+emptyGeoIPFile)
	t.add("GeoIPv6File", dataDir+"/"+emptyGeoIPFile)
}

func metricsOptions(t *torrc, port int) {
	t.addf("MetricsPort", "127.0.0.1:%d", port)
	t.add("MetricsPortPolicy", "accept 127.0.0.1")
}
