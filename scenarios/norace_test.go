//go:build !race

package scenarios

// raceEnabled says whether the race detector is on; see race_test.go.
const raceEnabled = false
