package session

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/relaybench/relaybench/chutney"
	"github.com/relaybench/relaybench/scenarios"
)

func TestSmokeResultWriteTable(t *testing.T) {
	r := &SmokeResult{Downloads: []SmokeDownload{
		{Mode: scenarios.RoleBridge, Bytes: 2 << 20, Elapsed: 500 * time.Millisecond, Path: []string{"target", "middle", "exit"}, TargetWrote: 2.25 * (1 << 20)},
		{Mode: scenarios.RoleEntry, Bytes: 2 << 20, Elapsed: 2 * time.Second, Path: []string{"target", "exit"}, TargetWrote: 2.1 * (1 << 20)},
	}}
	var b bytes.Buffer
	if err := r.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	// 2 MiB in 0.5 s is 4.0 MiB/s; in 2 s, 1.0 MiB/s.
	want := `MODE    BYTES    SECONDS  MiB/s  CIRCUIT             TARGET WROTE
bridge  2097152  0.50     4.0    target>middle>exit  2.2 MiB
entry   2097152  2.00     1.0    target>exit         2.1 MiB
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

// TestSmokeDir: smoke leaves the dir of `testnet up` alone and uses a
// temporary dir of its own instead; a dir asked for is used and kept.
func TestSmokeDir(t *testing.T) {
	if dir, temporary := smokeDir("/srv/net"); dir != "/srv/net" || temporary {
		t.Errorf("a dir asked for: %q, temporary %v", dir, temporary)
	}
	dir, temporary := smokeDir(chutney.DefaultDir())
	if dir == chutney.DefaultDir() || !temporary || !strings.HasSuffix(dir, fmt.Sprintf("relaybench-smoke-%d", os.Getpid())) {
		t.Errorf("the default dir: %q, temporary %v; want a temporary dir of this process", dir, temporary)
	}
}
