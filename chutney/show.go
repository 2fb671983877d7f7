package chutney

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"
)

// What `relaybench testnet up`, `status` and `down` show of a network:
// the renderers of a Description and a Teardown, so that the command only
// picks one.

// DefaultDir is where `relaybench testnet up` puts a network when it is
// given no dir: one per user, so that status and down find it.
func DefaultDir() string {
	return filepath.Join(os.TempDir(), fmt.Sprintf("relaybench-testnet-%d", os.Getuid()))
}

// WriteReady writes what a user of the ready network d needs: the relay
// under test's fingerprint, MetricsPort, bridge line and control port, the
// client's SocksPort with a curl line to try, and how to stop the network.
func (d *Description) WriteReady(w io.Writer) error {
	target := d.Node(RoleTarget)
	client := d.Node(RoleClient)
	fmt.Fprintf(w, "test network ready in %.1f s (%s, dir %s)\n\n", d.ReadySeconds, d.TorVersion, d.Dir)
	tw := newTable(w)
	fmt.Fprintf(tw, "relay under test\t%s\n", target.Nickname)
	fmt.Fprintf(tw, "  fingerprint\t%s\n", target.Fingerprint)
	fmt.Fprintf(tw, "  MetricsPort\t%s\n", target.MetricsURL)
	fmt.Fprintf(tw, "  bridge line\tBridge %s\n", target.BridgeLine)
	fmt.Fprintf(tw, "  control port\t%s (cookie %s)\n", target.ControlAddr, target.CookiePath)
	d.writeTargetExtras(tw, target)
	if client != nil {
		fmt.Fprintf(tw, "client (target as bridge)\tSocksPort %s\n", client.SocksAddr)
		fmt.Fprintf(tw, "  try\tcurl --proxy socks5h://$RANDOM:x@%s http://127.0.0.1:PORT/ (loopback destinations only)\n", client.SocksAddr)
	}
	fmt.Fprintf(tw, "network.json\t%s\n", filepath.Join(d.Dir, DescriptionFile))
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\nstop it with: relaybench testnet down --dir %s\n", d.Dir)
	return err
}

// WriteStatus writes the network's state (as CurrentState says it) and a
// table of its nodes as they are now (Status), then the relay under test's
// own tor build and confinement if it has either.
func (d *Description) WriteStatus(w io.Writer, state State, status []NodeStatus) error {
	fmt.Fprintf(w, "network in %s: state %s, owner pid %d, %s\n", d.Dir, state, d.OwnerPID, d.TorVersion)
	tw := newTable(w)
	fmt.Fprintln(tw, "ROLE\tNICKNAME\tPID\tRUNNING\tORPORT\tSOCKS\tMETRICSPORT\tFINGERPRINT")
	for _, n := range status {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%v\t%s\t%s\t%s\t%s\n", n.Role, n.Nickname, n.PID, n.Running,
			dash(n.ORPort), dash(n.SocksAddr), dash(n.Metrics), dash(n.Fingerprint))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	target := d.Node(RoleTarget)
	if target == nil {
		return nil
	}
	if tor, confined := d.TargetExtras(target); tor == "" && confined == "" {
		return nil
	}
	tw = newTable(w)
	fmt.Fprintf(tw, "relay under test %s\n", target.Nickname)
	d.writeTargetExtras(tw, target)
	return tw.Flush()
}

// ShowStatus is `relaybench testnet status`: it writes the network's
// state and its nodes as they are now (WriteStatus) and returns what is
// wrong with it (Problem), if anything.
func (d *Description) ShowStatus(w io.Writer) error {
	state, status := d.CurrentState(), d.Status()
	if err := d.WriteStatus(w, state, status); err != nil {
		return err
	}
	return d.Problem(state, status)
}

// ShowDown is `relaybench testnet down`: it stops the described network
// in dir (Down) and says what it did (Teardown.Write).
func (d *Description) ShowDown(dir string, w io.Writer) error {
	td, err := d.Down(dir)
	if err != nil {
		return err
	}
	return td.Write(w)
}

// Write says what Down did: the cgroups it removed, and how many tor
// processes ended, and how many of them it killed.
func (t Teardown) Write(w io.Writer) error {
	for _, g := range t.RemovedCgroups {
		fmt.Fprintf(w, "removed cgroup %s left by a stopped network\n", g)
	}
	fmt.Fprintf(w, "test network in %s stopped (%d tor processes ended", t.Dir, t.Ran)
	if t.Killed > 0 {
		fmt.Fprintf(w, ", %d of them killed", t.Killed)
	}
	_, err := fmt.Fprintln(w, ")")
	return err
}

// writeTargetExtras writes the target's tor build and confinement lines,
// those it has (TargetExtras).
func (d *Description) writeTargetExtras(w io.Writer, target *NodeDescription) {
	tor, confined := d.TargetExtras(target)
	if tor != "" {
		fmt.Fprintf(w, "  tor\t%s\n", tor)
	}
	if confined != "" {
		fmt.Fprintf(w, "  confined to\t%s\n", confined)
	}
}

func newTable(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 2, 4, 2, ' ', 0) }

// dash is v, or "-" when v is its type's zero value (no port, say).
func dash[T comparable](v T) string {
	if v == *new(T) {
		return "-"
	}
	return fmt.Sprint(v)
}
