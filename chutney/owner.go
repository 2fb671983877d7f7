package chutney

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/relaybench/relaybench/chutney/cgroup"
)

// A network can outlive the command that asked for it: `relaybench testnet
// up` starts a detached owner process that starts the network (Serve), and
// later commands find it through network.json (Description): AwaitOwner,
// Status and Shutdown.

// Serve keeps a started network until ctx ends or lifetime passes, and
// stops it on every way out; progress says why it stopped. A node that
// dies stops the whole network (its measurements would be meaningless)
// with an error carrying the node's log tail.
func (n *Network) Serve(ctx context.Context, lifetime time.Duration, progress io.Writer) error {
	defer n.Stop()
	select {
	case <-ctx.Done():
		fmt.Fprintln(progress, "stopping: signal received")
	case <-time.After(lifetime):
		fmt.Fprintf(progress, "stopping: --max-lifetime %s reached\n", lifetime)
	case p := <-n.Died():
		n.Stop()
		return fmt.Errorf("%v: stopped the network\n%s", p.ExitError(), p.LogTail(15))
	}
	return nil
}

// OwnerLogFile is the owner process's log in the network's dir.
const OwnerLogFile = "owner.log"

// StartOwner starts a network in dir owned by a detached process: this
// program run again with ownerArgs (which must make it Start and Serve the
// network in dir), in a session of its own so that closing the terminal
// does not stop the network. It says on progress which process owns the
// network, and waits for the network as AwaitOwner does.
func StartOwner(ctx context.Context, dir string, ownerArgs []string, progress io.Writer) (*Description, error) {
	// The owner takes the dir's lock itself (Start); asking first gives
	// the clear answer at once, and keeps a running network's
	// network.json from being removed.
	if err := CheckDirFree(dir); err != nil {
		return nil, err
	}
	os.Remove(filepath.Join(dir, DescriptionFile))
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, OwnerLogFile)
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	owner := exec.Command(self, ownerArgs...)
	owner.Stdout, owner.Stderr = logFile, logFile
	owner.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := owner.Start(); err != nil {
		return nil, fmt.Errorf("start the network's owner process: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- owner.Wait() }()
	fmt.Fprintf(progress, "starting test network in %s (owner pid %d, log %s)...\n", dir, owner.Process.Pid, logPath)
	return AwaitOwner(ctx, dir, owner.Process.Pid, exited)
}

// AwaitOwner waits for the network that owner process pid starts in dir
// to be ready, reading dir's network.json. exited receives the owner's
// exit; then the owner's log is the error. When ctx ends first, the owner
// is asked to stop (SIGTERM, which stops every tor), and the error is
// ctx's cause.
func AwaitOwner(ctx context.Context, dir string, pid int, exited <-chan error) (*Description, error) {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, OwnerLogFile))
			return nil, fmt.Errorf("test network failed to start (%v):\n%s", err, strings.TrimSpace(string(log)))
		case <-ctx.Done():
			syscall.Kill(pid, syscall.SIGTERM)
			<-exited
			return nil, context.Cause(ctx)
		case <-tick.C:
		}
		d, err := ReadDescription(dir)
		if err != nil || d.OwnerPID != pid {
			continue
		}
		switch d.State {
		case StateReady:
			return d, nil
		case StateFailed:
			<-exited
			return nil, fmt.Errorf("test network failed to start: %s", d.Error)
		}
	}
}

// NodeStatus is a described node as it is now.
type NodeStatus struct {
	NodeDescription
	// Running is true when its tor process still runs.
	Running bool
	// Metrics is the MetricsPort URL with how it answered: "URL (200 OK)",
	// "URL (unreachable)", the bare URL when the node is not running, or ""
	// when it has none.
	Metrics string
}

// Status checks every node of the described network: whether its tor runs
// and, if so, whether its MetricsPort answers.
func (d *Description) Status() []NodeStatus {
	alive := map[int]bool{}
	for _, pid := range d.AlivePIDs() {
		alive[pid] = true
	}
	hc := &http.Client{Timeout: 2 * time.Second}
	out := make([]NodeStatus, 0, len(d.Nodes))
	for _, n := range d.Nodes {
		st := NodeStatus{NodeDescription: n, Running: alive[n.PID], Metrics: n.MetricsURL}
		if n.MetricsURL != "" && st.Running {
			if resp, err := hc.Get(n.MetricsURL); err != nil {
				st.Metrics += " (unreachable)"
			} else {
				resp.Body.Close()
				st.Metrics += " (" + resp.Status + ")"
			}
		}
		out = append(out, st)
	}
	return out
}

// Shutdown stops the described network from outside its owner: it asks
// the owner process (if it is a live relaybench testnet owner other than
// this process) to stop and waits up to 15 s, gives tor 5 s to exit after
// its owner's control connection closed, and kills whatever tor process is
// left. It returns how many tor processes ran and how many it killed.
func (d *Description) Shutdown() (ran, killed int, err error) {
	ran = len(d.AlivePIDs())
	if d.OwnerPID != os.Getpid() && d.OwnerRunning() {
		syscall.Kill(d.OwnerPID, syscall.SIGTERM)
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) && d.OwnerRunning() {
			time.Sleep(50 * time.Millisecond)
		}
	}
	// Tor exits when its owner's control connection closes; anything still
	// here (an owner that was stuck) is killed.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && len(d.AlivePIDs()) > 0 {
		time.Sleep(50 * time.Millisecond)
	}
	killed = len(d.KillRemaining())
	time.Sleep(100 * time.Millisecond)
	if left := d.AlivePIDs(); len(left) > 0 {
		return ran, killed, fmt.Errorf("tor processes %v of %s are still running after SIGKILL: check them with ps", left, d.Dir)
	}
	return ran, killed, nil
}

// Teardown is what Down did to a network.
type Teardown struct {
	// Dir is the network's dir, as its network.json says.
	Dir string
	// Ran is how many of its tor processes ran, Killed how many of them
	// had to be killed.
	Ran, Killed int
	// RemovedCgroups are the cgroups of stopped networks it removed.
	RemovedCgroups []string
}

// Down stops the described network in dir from outside its owner
// (Shutdown), records in network.json that it is stopped, and removes the
// cgroups that stopped networks left (an owner that was SIGKILLed could
// not remove the target's).
func (d *Description) Down(dir string) (Teardown, error) {
	t := Teardown{Dir: d.Dir}
	var err error
	if t.Ran, t.Killed, err = d.Shutdown(); err != nil {
		return t, err
	}
	if err := d.MarkStopped(dir); err != nil {
		return t, fmt.Errorf("the network is stopped, but %s could not say so: %w", DescriptionFile, err)
	}
	t.RemovedCgroups = cgroup.RemoveStale()
	return t, nil
}

// OwnerRunning reports whether the network's owner process still runs:
// the process with OwnerPID started when network.json says
// (OwnerStartTicks) and runs the command line it recorded. A PID reused by
// another process, whatever its command line, is not the owner, and
// neither is any process of a network.json that recorded no start time
// (written by an older relaybench): it is never signalled.
func (d *Description) OwnerRunning() bool {
	if d.OwnerPID <= 0 || d.OwnerStartTicks == 0 || !Running(d.OwnerPID) {
		return false
	}
	if start, err := startTicks(d.OwnerPID); err != nil || start != d.OwnerStartTicks {
		return false
	}
	args, err := cmdline(d.OwnerPID)
	return err == nil && slices.Equal(args, d.OwnerCmdline)
}
