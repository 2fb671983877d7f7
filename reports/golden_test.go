package reports

import (
	"flag"
	"path/filepath"
	"testing"

	"github.com/relaybench/relaybench/runner/testkit"
)

// update rewrites the golden files instead of comparing with them:
// go test ./reports/ -update. Shared by every golden test of the package
// (terminal, files, HTML, compare).
var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/<name>, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	testkit.Golden(t, filepath.Join("testdata", name), got, *update)
}
