// Package ssh holds no code: its directory holds run-workers.sh, the
// plain-SSH recipe for a relaybench run spread over several load machines,
// and its test runs the script end to end with ssh and scp standing in
// for hosts as directories of this machine, so the recipe cannot rot.
package ssh
