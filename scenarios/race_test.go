//go:build race

package scenarios

// raceEnabled says whether the race detector is on; it multiplies memory
// use, so TestValidatePeakMemory does not measure under it.
const raceEnabled = true
