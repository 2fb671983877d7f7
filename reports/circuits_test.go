package reports

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
)

// TestCircuitSuccessColumn checks the circuit success rate in the step
// table (shown only when some step saw circuits attempted) and steps.csv
// (empty cell without attempts).
func TestCircuitSuccessColumn(t *testing.T) {
	a := degraded(t)
	var plain bytes.Buffer
	if err := Terminal(&plain, a); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(plain.String(), "circuits built") {
		t.Errorf("the step table shows circuits built without any circuit attempted:\n%s", plain.String())
	}
	rate := 0.75
	a.Steps[0].CircuitsBuilt, a.Steps[0].CircuitsFailed, a.Steps[0].CircuitSuccess = 3, 1, &rate
	cols := StepColumns(a)
	row := StepRow(a, a.Steps[0])
	other := StepRow(a, a.Steps[1])
	if len(cols) != len(row) || cols[len(cols)-2] != "circuits built" || row[len(row)-2] != "3/4 (75%)" || other[len(other)-2] != "-" {
		t.Errorf("columns %q, step 1 %q, step 2 %q; want circuits built 3/4 (75%%) and - before the signals", cols, row, other)
	}
	var b bytes.Buffer
	if err := CSV(&b, a); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := -1
	for i, c := range rows[0] {
		if c == "circuit_success" {
			col = i
		}
	}
	if col < 0 || rows[1][col] != "0.75" || rows[2][col] != "" {
		t.Errorf("steps.csv circuit_success column %d: %q, %q; want 0.75 and empty", col, rows[1][col], rows[2][col])
	}
}
