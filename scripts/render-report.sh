#!/bin/sh
# render-report.sh: check the HTML report in headless Chromium and refresh
# docs/report.png, the screenshot of the real-run report in
# reports/testdata/html/ratelimit.summary.json that the README shows.
#
#   scripts/render-report.sh [PNG]     (default: docs/report.png)
#
# It runs TestHTMLRendersInChromium with Chromium required, so it fails
# rather than skips when `chromium` is not installed (apt-get install
# chromium on Debian).
set -eu
cd "$(dirname "$0")/.."
out=${1:-docs/report.png}
case $out in /*) ;; *) out=$PWD/$out ;; esac
RELAYBENCH_REQUIRE_CHROMIUM=1 RELAYBENCH_SCREENSHOT=$out \
	go test -count=1 -run '^TestHTMLRendersInChromium$' -v ./reports/ | grep -v '^=== '
ls -l "$out"
