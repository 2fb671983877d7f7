# relaybench: `make demo` runs the main job on the embedded test network,
# `make test` runs every test (installing tor first when it is missing).

GO ?= go
BIN := bin/relaybench

.PHONY: build test test-short bench demo setup clean

build:
	$(GO) build -o $(BIN) ./cmd/relaybench

setup:
	./scripts/setup.sh

# The whole suite, integration tests with real tor included. -p 1: the
# packages' tor networks would otherwise compete for the same two cores.
test: setup
	$(GO) vet ./...
	$(GO) test -count=1 -p 1 -timeout 15m ./...

# Unit tests only, no tor network.
test-short:
	$(GO) test -short ./...

# Benchmarks print ratios against a reference measured in the same run.
bench: setup
	$(GO) test -run '^$$' -bench . -benchtime 1x -count 1 -timeout 30m ./chutney/ 
	$(GO) test -run '^$$' -bench . -benchtime 2s -count 1 ./runner/... ./measure/...

demo: setup build
	./$(BIN) testnet smoke

clean:
	rm -rf bin
