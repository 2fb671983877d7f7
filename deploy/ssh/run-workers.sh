#!/bin/sh
# run-workers.sh: one relaybench run spread over several load machines by
# plain SSH, as vegeta's README distributes an attack: the same scenario on
# every host with its own --segment and one --start-at, the run directories
# copied back, then merged into one run directory.
#
# usage: deploy/ssh/run-workers.sh SCENARIO HOST...
#
# HOST is anything ssh and scp accept (user@host, an alias of
# ~/.ssh/config); worker i runs on the i-th HOST. Each host needs
# relaybench and tor in its PATH and its clock in sync (NTP: `chronyc
# tracking` or `timedatectl` says so): the steps are aligned on the hosts'
# own clocks, which relaybench cannot see differ.
#
# Environment:
#   LEAD    seconds from now to the first step (default 120): time for
#           every host to start its tor clients; a host that is late says
#           so in its run.json and in the merged verdict
#   RUN_ID  the run's name (default: the UTC time)
#   OUT     where the run comes back to (default runs): OUT/RUN_ID holds
#           each worker's directory, its log and the merged run
#   REMOTE  the directory on the hosts (default relaybench-runs)
set -eu

if [ $# -lt 2 ]; then
	echo "usage: $0 SCENARIO HOST..." >&2
	exit 2
fi
scenario=$1
shift
n=$#
lead=${LEAD:-120}
run_id=${RUN_ID:-$(date -u +%Y%m%d-%H%M%S)}
remote=${REMOTE:-relaybench-runs}/$run_id
local=${OUT:-runs}/$run_id
start_at=$(date -u -d "+$lead seconds" +%Y-%m-%dT%H:%M:%SZ)
mkdir -p "$local"
echo "run $run_id: $n workers, first step at $start_at"

# Start every worker; each waits for start_at on its own.
i=0
pids=
for host in "$@"; do
	ssh -n "$host" "mkdir -p '$remote'"
	scp -q "$scenario" "$host:$remote/scenario.yaml"
	ssh -n "$host" "relaybench run --segment $i/$n --start-at $start_at --out '$remote/worker-$i' '$remote/scenario.yaml'" \
		>"$local/worker-$i.log" 2>&1 &
	pids="$pids $!"
	echo "worker $i/$n on $host (log: $local/worker-$i.log)"
	i=$((i + 1))
done

# Exit 1 (a threshold failed) still leaves a run to merge; the merge
# refuses a worker that left none.
i=0
for p in $pids; do
	rc=0
	wait "$p" || rc=$?
	[ "$rc" -le 1 ] || echo "worker $i exited $rc: see $local/worker-$i.log" >&2
	i=$((i + 1))
done

i=0
for host in "$@"; do
	scp -q -r "$host:$remote/worker-$i" "$local/" || echo "worker $i: nothing to copy back from $host" >&2
	i=$((i + 1))
done

exec relaybench merge "$local"/worker-*/*-segment-*-of-* -o "$local/merged"
