package rundir

import (
	"os"
	"path/filepath"
	"testing"
)

// TestSummaryOnly: only a directory with summary.json and no requests.jsonl
// is read back from its summary.
func TestSummaryOnly(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files []string
		want  bool
	}{
		{"summary alone", []string{SummaryFile}, true},
		{"raw and summary", []string{RequestsFile, SummaryFile}, false},
		{"raw alone", []string{RequestsFile}, false},
		{"empty", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, f), []byte("{}\n"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if got := SummaryOnly(dir); got != tc.want {
				t.Errorf("SummaryOnly with %v = %v, want %v", tc.files, got, tc.want)
			}
		})
	}
}
