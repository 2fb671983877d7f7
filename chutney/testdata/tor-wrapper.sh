#!/bin/sh
# A stand-in for "another tor build" in tests: it notes its PID and
# arguments in $RELAYBENCH_TOR_WRAPPER_MARKER, then becomes the tor found
# in PATH (exec keeps the PID), so a test can tell which tor process was
# started through it.
if [ -n "$RELAYBENCH_TOR_WRAPPER_MARKER" ]; then
	echo "$$ $*" >>"$RELAYBENCH_TOR_WRAPPER_MARKER"
fi
exec tor "$@"
