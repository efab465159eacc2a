#!/usr/bin/env bash
# CPU time per sample of `xenadm top -b` next to `xentop -b`, in a real dom0 with one running PV
# guest (docs/PERFORMANCE.md, "Host view"). A figure, not a test: run it with
#   lab/run --timeout 600 -- bash lab/bench/host-view-cpu.sh [SAMPLES]
# Both tools sample back to back (-d 0); the single-sample runs show the start-up part.
set -euo pipefail
samples=${1:-100}
trap 'xl destroy hvbench >/dev/null 2>&1 || true' EXIT
xenlab-guest create hvbench --ip 10.0.0.21 > /dev/null 2>&1
xenlab-guest wait hvbench 'ping ok' 120 > /dev/null
TIMEFORMAT='%U %S %R'
for round in 1 2 3; do
    xentop_n=$( { time xentop -b -d 0 -i "$samples" > /dev/null; } 2>&1 )
    xenadm_n=$( { time xenadm top -b -d 0 -i "$samples" > /dev/null; } 2>&1 )
    xentop_1=$( { time xentop -b -d 0 -i 1 > /dev/null; } 2>&1 )
    xenadm_1=$( { time xenadm top -b -d 0 -i 1 > /dev/null; } 2>&1 )
    echo "round $round (user sys real, seconds): $samples samples: xentop $xentop_n, xenadm $xenadm_n; 1 sample: xentop $xentop_1, xenadm $xenadm_1"
done
