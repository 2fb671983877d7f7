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
# chromium renders report.html; RELAYBENCH_REQUIRE_CHROMIUM makes its test
# fail rather than skip when chromium is missing. deploy/'s tests run
# promtool check/test rules (and, with tor, a real Prometheus): setup.sh
# test installs them, and in CI (CI=true) they fail rather than skip.
test:
	./scripts/setup.sh test
	$(GO) vet ./...
	RELAYBENCH_REQUIRE_CHROMIUM=1 $(GO) test -count=1 -p 1 -timeout 18m ./...

# Unit tests only, no tor network.
test-short:
	$(GO) test -short ./...

# Benchmarks print ratios against a reference measured in the same run:
# network start-up against chutney, harness against raw loopback and curl,
# harness RSS over a 10-minute run, the confined relay's efficiency in two
# runs of the demo scenario, and its capacity at 0.2 against 0.4 cores
# (about 30 minutes in all).
bench: setup
	$(GO) test -run '^$$' -bench . -benchtime 1x -count 1 -timeout 30m ./chutney/
	$(GO) test -run '^$$' -bench . -benchtime 1x -count 1 -timeout 10m ./runner/
	$(GO) test -run '^$$' -bench . -benchtime 2s -count 1 ./runner/payload/ ./measure/...
	$(GO) test -run '^$$' -bench . -benchtime 1x -count 1 -timeout 40m ./cmd/relaybench/ ./runner/session/

# The main job: the built-in local.yaml scenario (bulk downloads through the
# relay under test as a bridge confined to 0.2 cores, 1 to 32 streams) on
# the embedded network. Confining it needs root; without root run
# `bin/relaybench run local-unconfined`, whose capacity is a lower bound.
demo: setup build
	./$(BIN) run

clean:
	rm -rf bin
