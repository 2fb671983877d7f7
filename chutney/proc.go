package chutney

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cretz/bine/control"

	"github.com/relaybench/relaybench/chutney/cgroup"
)

// File names tor writes into a node's data directory at our request.
const (
	controlPortFile = "control_port"
	cookieFile      = "control_auth_cookie"
	noticeLogFile   = "notice.log"
	stdoutFile      = "tor.stdout"
	torrcFile       = "torrc"
	// noDefaultsFile is an empty defaults-torrc: tor would otherwise read the
	// system's /etc/tor/torrc-defaults, and tor refuses /dev/null as a file.
	noDefaultsFile = "torrc-defaults"
	// emptyGeoIPFile replaces Debian's GeoIP databases: parsing them costs
	// tor a second of CPU at start-up, seven times over on a two-core
	// machine, and nothing on loopback has a country.
	emptyGeoIPFile = "geoip-empty"
)

// torConfigArgs points tor at the node's own torrc and an empty defaults
// file, so no system configuration leaks into the test network.
func torConfigArgs(dataDir string) []string {
	defaults := filepath.Join(dataDir, noDefaultsFile)
	if _, err := os.Stat(defaults); err != nil {
		os.WriteFile(defaults, nil, 0o600)
	}
	if _, err := os.Stat(filepath.Join(dataDir, emptyGeoIPFile)); err != nil {
		os.WriteFile(filepath.Join(dataDir, emptyGeoIPFile), nil, 0o600)
	}
	return []string{"-f", filepath.Join(dataDir, torrcFile), "--defaults-torrc", defaults}
}

// stopGrace is how long a tor gets to exit after SIGNAL HALT (or SIGINT)
// before its process group is killed. With ShutdownWaitLength 0, tor exits
// within milliseconds; the grace only matters for a wedged process.
const stopGrace = 5 * time.Second

// TorProcess is one tor process started and owned by the harness.
type TorProcess struct {
	// Name is the node's nickname or the client's name, used in messages.
	Name string
	// DataDir is tor's DataDirectory (mode 0700).
	DataDir string
	// ControlAddr is the control port tor chose, read back from the file tor
	// wrote (ControlPortWriteToFile).
	ControlAddr string
	// CookiePath is the control port authentication cookie.
	CookiePath string

	cmd      *exec.Cmd
	exited   chan struct{}
	waitErr  error
	ctrl     *control.Conn
	stopOnce sync.Once
}

// processOptions are the limits and binaries for startTor.
type processOptions struct {
	torPath string
	// nofile, when non-zero, is the open-files limit (soft and hard) of the
	// tor process, applied with prlimit(1) before exec so that tor sizes its
	// connection limit from it at start-up, as it would under `ulimit -n`.
	nofile uint64
	// cgroup, when set, is the group tor starts in (see cgroup.Group.Start).
	cgroup *cgroup.Group
}

// startTor starts tor with the torrc in dataDir, waits for its control port,
// authenticates and takes ownership so that tor exits if the harness goes away.
// On any failure the process is killed before returning.
func startTor(ctx context.Context, name, dataDir string, opts processOptions) (*TorProcess, error) {
	torPath := opts.torPath
	if torPath == "" {
		torPath = "tor"
	}
	args := torConfigArgs(dataDir)
	bin := torPath
	if opts.nofile > 0 {
		limit := strconv.FormatUint(opts.nofile, 10)
		args = append([]string{"--nofile=" + limit + ":" + limit, "--", torPath}, args...)
		bin = "prlimit"
	}
	stdout, err := os.OpenFile(filepath.Join(dataDir, stdoutFile), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	defer stdout.Close()
	os.Remove(filepath.Join(dataDir, controlPortFile))

	cmd := exec.Command(bin, args...)
	cmd.Stdout = stdout
	cmd.Stderr = stdout
	cmd.Dir = dataDir
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// Own process group: a stop can signal tor and anything it spawned
		// without touching the harness's group (and Ctrl-C in a terminal
		// reaches the harness only, which then stops tor in order).
		Setpgid: true,
		// If the harness dies, even by SIGKILL, the kernel kills tor.
		Pdeathsig: syscall.SIGKILL,
	}
	start := cmd.Start
	if opts.cgroup != nil {
		start = func() error { return opts.cgroup.Start(cmd) }
	}
	if err := start(); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return nil, fmt.Errorf("start %s: %w (install tor: sudo apt-get install tor, or run scripts/setup.sh)", name, err)
		}
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &TorProcess{Name: name, DataDir: dataDir, cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	if err := p.connectControl(ctx); err != nil {
		p.kill()
		return nil, err
	}
	return p, nil
}

// PID is the process ID of tor.
func (p *TorProcess) PID() int { return p.cmd.Process.Pid }

// Exited is closed when the process has exited, for whatever reason.
func (p *TorProcess) Exited() <-chan struct{} { return p.exited }

// Alive reports whether the process is still running.
func (p *TorProcess) Alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// ExitError describes how the process ended; nil while it runs.
func (p *TorProcess) ExitError() error {
	if p.Alive() {
		return nil
	}
	if p.waitErr == nil {
		return fmt.Errorf("%s (pid %d) exited", p.Name, p.PID())
	}
	return fmt.Errorf("%s (pid %d) exited: %w", p.Name, p.PID(), p.waitErr)
}

// connectControl waits for tor to write its control port file, connects,
// authenticates with the cookie and sends TAKEOWNERSHIP.
func (p *TorProcess) connectControl(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	path := filepath.Join(p.DataDir, controlPortFile)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		// tor writes the file atomically (temporary file, then rename), so a
		// file that parses is complete.
		if data, err := os.ReadFile(path); err == nil {
			addr, ok := strings.CutPrefix(strings.TrimSpace(string(data)), "PORT=")
			if _, _, err := net.SplitHostPort(addr); ok && err == nil {
				p.ControlAddr = addr
				break
			}
		}
		select {
		case <-p.exited:
			return fmt.Errorf("%s exited during start-up: %w\n%s", p.Name, p.waitErr, p.LogTail(15))
		case <-ctx.Done():
			return fmt.Errorf("%s did not open its control port within 30 s: %w\n%s", p.Name, ctx.Err(), p.LogTail(15))
		case <-tick.C:
		}
	}
	p.CookiePath = filepath.Join(p.DataDir, cookieFile)
	conn, err := net.DialTimeout("tcp", p.ControlAddr, 5*time.Second)
	if err != nil {
		return fmt.Errorf("%s: connect to control port %s: %w", p.Name, p.ControlAddr, err)
	}
	ctrl := control.NewConn(textproto.NewConn(conn))
	if err := ctrl.Authenticate(""); err != nil {
		conn.Close()
		return fmt.Errorf("%s: authenticate on control port %s: %w", p.Name, p.ControlAddr, err)
	}
	// From here on tor exits as soon as this connection closes: the kernel
	// closes it when the harness dies, however it dies.
	if err := ctrl.TakeOwnership(); err != nil {
		conn.Close()
		return fmt.Errorf("%s: TAKEOWNERSHIP on control port %s: %w", p.Name, p.ControlAddr, err)
	}
	p.ctrl = ctrl
	return nil
}

// GetInfo asks tor for one GETINFO key over the owning control connection.
func (p *TorProcess) GetInfo(key string) (string, error) {
	if p.ctrl == nil {
		return "", fmt.Errorf("%s: no control connection", p.Name)
	}
	kvs, err := p.ctrl.GetInfo(key)
	if err != nil {
		return "", fmt.Errorf("%s: GETINFO %s: %w", p.Name, key, err)
	}
	for _, kv := range kvs {
		if kv.Key == key {
			return kv.Val, nil
		}
	}
	return "", fmt.Errorf("%s: GETINFO %s: no value in reply", p.Name, key)
}

// Control returns the owning control connection, for callers that need more
// than GETINFO (events, SETCONF). Closing it makes tor exit.
func (p *TorProcess) Control() *control.Conn { return p.ctrl }

// Stop ends the process: SIGNAL HALT on the control port (tor exits at once,
// unlike SIGTERM, which tor 0.4.9.11 was seen to leave pending with Sandbox
// 1), SIGINT as a
// fallback, and SIGKILL to the process group after stopGrace. It returns when
// the process is gone. Safe to call more than once and from several goroutines.
func (p *TorProcess) Stop() {
	p.stopOnce.Do(func() {
		if p.Alive() {
			halted := false
			if p.ctrl != nil {
				halted = p.ctrl.Signal("HALT") == nil
			}
			if !halted {
				p.cmd.Process.Signal(syscall.SIGINT)
			}
			select {
			case <-p.exited:
			case <-time.After(stopGrace):
			}
		}
		p.kill()
		if p.ctrl != nil {
			p.ctrl.Close()
		}
	})
	<-p.exited
}

// kill sends SIGKILL to the process group and waits for the exit.
func (p *TorProcess) kill() {
	if p.Alive() {
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		p.cmd.Process.Kill()
	}
	<-p.exited
}

// LogTail returns the last n lines of the notice log and of what tor printed
// before its log file was open, indented for quoting in an error message.
func (p *TorProcess) LogTail(n int) string {
	return logTail(p.DataDir, n)
}

func logTail(dataDir string, n int) string {
	var b strings.Builder
	for _, f := range []string{stdoutFile, noticeLogFile} {
		path := filepath.Join(dataDir, f)
		lines := tailLines(path, n)
		if len(lines) == 0 {
			continue
		}
		fmt.Fprintf(&b, "  last lines of %s:\n", path)
		for _, l := range lines {
			fmt.Fprintf(&b, "    %s\n", l)
		}
	}
	if b.Len() == 0 {
		return "  (tor wrote no log in " + dataDir + ")"
	}
	return strings.TrimRight(b.String(), "\n")
}

func tailLines(path string, n int) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return lines
}
