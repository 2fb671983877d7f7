package payload

import (
	"bytes"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServeInfoBanner checks the lines of the banner that change with the
// settings against text written out by hand.
func TestServeInfoBanner(t *testing.T) {
	for _, tc := range []struct {
		name string
		info ServeInfo
		want []string
	}{
		{"new token, no file, all interfaces, no cap, no log",
			ServeInfo{Public: Public{Token: testToken, MaxBytes: 50 << 30}, Addr: "0.0.0.0:8080", TokenNew: true, MaxSize: 1 << 30},
			[]string{
				"relaybench serve: relaybench's verified payload on 0.0.0.0:8080, for Tor exits\n",
				"  payload URL  http://PUBLIC-ADDRESS:8080/" + testToken + "/bytes/SIZE  (SIZE such as 10MiB, at most 1GiB; ?seed=N for other content)\n",
				"  token        new, shown only this once: keep it secret (--token-file FILE keeps one across restarts)\n",
				"  budget       50GiB in all, no rate cap\n",
				"  access log   none (--access-log FILE keeps one)\n",
			}},
		{"new token written to a file, IPv6, a cap and a log",
			ServeInfo{Public: Public{Token: testToken, MaxBytes: 3 << 20, Rate: 16 << 20}, Addr: "[2001:db8::7]:80", TokenFile: "/etc/tok", TokenNew: true, MaxSize: 2 << 20, AccessLogPath: "/var/log/a.jsonl"},
			[]string{
				"  payload URL  http://[2001:db8::7]:80/" + testToken + "/bytes/SIZE  (SIZE such as 10MiB, at most 2MiB;",
				"  token        new, written to /etc/tok and shown only this once: keep it secret\n",
				"  budget       3MiB in all, at most 16MiB/s across all clients\n",
				"  access log   /var/log/a.jsonl\n",
			}},
		{"token from a file: never shown",
			ServeInfo{Public: Public{Token: testToken, MaxBytes: 1 << 20}, Addr: "[::]:80", TokenFile: "/etc/tok", MaxSize: 1 << 20},
			[]string{
				"  payload URL  http://PUBLIC-ADDRESS:80/$(cat /etc/tok)/bytes/SIZE",
				"  token        from /etc/tok\n",
			}},
	} {
		var b bytes.Buffer
		if err := tc.info.WriteBanner(&b); err != nil {
			t.Fatal(err)
		}
		got := b.String()
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: banner lacks %q:\n%s", tc.name, w, got)
			}
		}
		if shown := strings.Contains(got, testToken); shown != tc.info.TokenNew {
			t.Errorf("%s: token shown %v, want %v", tc.name, shown, tc.info.TokenNew)
		}
		if !strings.HasSuffix(got, "Stop with Ctrl-C or SIGTERM.\n") {
			t.Errorf("%s: banner does not end saying how to stop:\n%s", tc.name, got)
		}
	}
}

func TestServeInfoSummary(t *testing.T) {
	var b bytes.Buffer
	ServeInfo{Public: Public{MaxBytes: 3 << 20}}.WriteSummary(&b, Stats{Downloads: 2, BytesServed: 3 << 19, WrongToken: 4, OverBudget: 5, Rejected: 6})
	want := "downloads served: 2 (1.5MiB of the 3MiB budget); refused: 4 without the token, 5 over the budget, 6 other (a bad size or seed, or the access log down)\n"
	if b.String() != want {
		t.Errorf("summary\n%q, want\n%q", b.String(), want)
	}
}

func TestTokenFrom(t *testing.T) {
	a, newA, errA := TokenFrom("")
	b, newB, errB := TokenFrom("")
	if errA != nil || errB != nil || !newA || !newB || a == b || CheckToken(a) != nil {
		t.Errorf("without a file: %q %v %v, %q %v %v; want two different new valid tokens", a, newA, errA, b, newB, errB)
	}
	file := filepath.Join(t.TempDir(), "token")
	made, isNew, err := TokenFrom(file)
	if err != nil || !isNew {
		t.Fatalf("a file that does not exist: %q %v %v, want a new token", made, isNew, err)
	}
	if again, isNew, err := TokenFrom(file); err != nil || isNew || again != made {
		t.Errorf("the file again: %q %v %v, want %q, not new", again, isNew, err, made)
	}
}

// TestStopCutsOpenDownloads: a download held back by the rate cap is
// still running when the grace period ends, so Stop cuts it; with nothing
// running, Stop does not.
func TestStopCutsOpenDownloads(t *testing.T) {
	idle := startPublic(t, Public{MaxBytes: 1 << 30})
	if cut, err := idle.Stop(time.Second); cut || err != nil {
		t.Errorf("idle server: cut %v, %v; want neither", cut, err)
	}

	s := startPublic(t, Public{MaxBytes: 1 << 30, Rate: 64 << 10})
	resp, err := testClient(t).Get(s.BytesURL(10 << 20)) // 160 s at the cap
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := io.ReadFull(resp.Body, make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	cut, err := s.Stop(100 * time.Millisecond)
	if !cut || err != nil {
		t.Errorf("busy server: cut %v, %v; want cut and no error", cut, err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("Stop took %v with a grace of 100ms", took)
	}
	if _, err := io.Copy(io.Discard, resp.Body); err == nil {
		t.Error("the download ended cleanly after Stop, want it cut")
	}
}
