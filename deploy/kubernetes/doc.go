// Package kubernetes holds no code: its directory holds the Kubernetes
// manifests of a distributed relaybench run (an Indexed Job of workers,
// the merge Job, the results volume) and its test decodes them strictly
// into the real Kubernetes API types, so that a field renamed, misspelt or
// dropped from the API fails `go test` instead of a user's kubectl apply.
package kubernetes
