package session

// ConfigError is a problem with the scenario or the machine found before
// the load starts: a MetricsPort that does not answer, an open-files limit
// too low for the scenario's streams. Nothing was measured; fix what the
// message names and run again.
type ConfigError struct{ Err error }

// Error is the problem and what to do.
func (e *ConfigError) Error() string { return e.Err.Error() }

// Unwrap returns the problem.
func (e *ConfigError) Unwrap() error { return e.Err }
