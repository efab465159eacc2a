# The host view on real Xen, next to the stock tools, with a running PV guest that has a vif and
# a disk: `xenadm list` names the same domains, ids, memory and vCPUs as `xl list`; `xenadm info`
# prints what `xl info` prints, and `xenadm info -n` the same topology tables as `xl info -n`;
# `xenadm top -b` has xentop's header, domains and static columns (CPU% within a tolerance),
# and its interactive screen works in a real pseudo-terminal; `xenadm net` shows the guest's
# vif on its bridge; the exporter serves the guest's metrics.
# shellcheck source=lab/suite/lib.sh
. "$LAB_SUITE_LIB"
name=labhv1
port=19120
trap 'xl destroy "$name" >/dev/null 2>&1 || true; [ -f exporter.pid ] && kill "$(cat exporter.pid)" 2>/dev/null || true' EXIT

printf 'labhv1 disk\n' > disk.img
truncate -s 4M disk.img
# The guest keeps its vCPU busy, so its CPU% is steady enough to compare two tools' readings.
echo '(while :; do :; done) > /dev/null 2>&1 &' > burn.sh
must xenlab-guest-initramfs --cmd burn.sh initrd.gz
must xenlab-guest create "$name" --ip 10.0.0.13 --disk "$PWD/disk.img" --initrd "$PWD/initrd.gz"
xenlab-guest wait "$name" 'ping ok' 120 || fail "guest never reached dom0 (no 'ping ok')"
xenlab-guest wait "$name" 'xvdb: labhv1 disk' 30 || fail "guest never read its disk"
domid=$(domid_of "$name")

echo "--- list"
xl list > xl.list
xenadm list > ours.list || fail "xenadm list exited $?"
xenadm --json list > ours.json || fail "xenadm --json list exited $?"
cat xl.list ours.list
# Name, ID, Mem, VCPUs: the same text in the same columns (State and Time(s) move).
diff <(cut -c1-60 xl.list) <(cut -c1-60 ours.list) || fail "xenadm list differs from xl list (first 60 columns)"
awk 'NR > 1 { print $2, $1, $3, $4 }' xl.list | sort > xl.keys
jq -r '.[] | "\(.domid) \(.name) \(.memory_kib / 1024 | floor) \(.online_vcpus)"' ours.json | sort > ours.keys
diff xl.keys ours.keys || fail "xenadm --json list: ids, names, memory or vCPUs differ from xl list"

echo "--- info"
xl info > xl.info
xenadm info > ours.info || fail "xenadm info exited $?"
# free_memory moves while domains balloon; everything else must be identical.
diff <(grep -v '^free_memory' xl.info) <(grep -v '^free_memory' ours.info) || fail "xenadm info differs from xl info"
xl_free=$(sed -n 's/^free_memory *: //p' xl.info)
our_free=$(sed -n 's/^free_memory *: //p' ours.info)
[ $((xl_free - our_free)) -le 8 ] && [ $((our_free - xl_free)) -le 8 ] || fail "free_memory $our_free vs xl's $xl_free"

echo "--- info -n"
xl info -n > xl.info-n
xenadm info -n > ours.info-n || fail "xenadm info -n exited $?"
cat ours.info-n
# The tables byte for byte, except what moves: free_memory and each node's memfree column.
steady() { awk '/^numa_info/ { numa = 1 } numa && /^ *[0-9]+:/ { $3 = "FREE" } !/^free_memory/' "$1"; }
diff <(steady xl.info-n) <(steady ours.info-n) || fail "xenadm info -n differs from xl info -n"
grep -q '^cpu_topology' ours.info-n && grep -q '^numa_info' ours.info-n || fail "xenadm info -n has no tables"

echo "--- top -b"
# Both run over the same two 1-second intervals, so CPU% describe the same time.
xentop -b -d 1 -i 2 > xentop.txt &
xenadm top -b -d 1 -i 2 > top.txt || fail "xenadm top -b exited $?"
wait
cat xentop.txt top.txt
header() { head -n 1 "$1" | tr -s ' '; }
[ "$(header xentop.txt)" = "$(header top.txt)" ] || fail "header differs from xentop's"
# The second iteration's rows, "no limit" joined into one field: NAME STATE CPU(sec) CPU(%)
# MEM(k) MEM(%) MAXMEM(k) MAXMEM(%) VCPUS NETS ... VBDS(13) ... SSID(19).
rows() { sed 's/no limit/no_limit/' "$1" | awk '/^ *NAME / { n++ } n == 2 && $2 ~ /^[d-][s-][b-][c-][p-][r-]$/'; }
static() { rows "$1" | awk '{ print $1, $5, $7, $9, $10, $13, $19 }' | sort; }
diff <(static xentop.txt) <(static top.txt) || fail "static columns (name, mem, maxmem, vcpus, nets, vbds, ssid) differ"
# The busy guest's CPU% must agree; dom0's own load is the two tools themselves (and moves
# with their phase), so it only has to be a valid percentage of its vCPUs.
cpu() { rows "$1" | awk -v n="$2" '$1 == n { print $4 }'; }
a=$(cpu xentop.txt "$name") b=$(cpu top.txt "$name")
echo "CPU(%) of $name: xentop $a, xenadm $b"
awk -v a="$a" -v b="$b" 'BEGIN { d = a - b; if (d < 0) d = -d; m = (a > b ? a : b); exit !(a > 20 && d <= 10 + 0.2 * m) }' ||
    fail "CPU(%) of the busy guest $name: xentop $a, xenadm $b"
dom0=$(cpu top.txt Domain-0)
awk -v c="$dom0" 'BEGIN { exit !(c >= 0 && c <= 100 * 2 + 5) }' || fail "Domain-0 CPU(%) $dom0 out of range"
# CPU time per sample, printed for docs/PERFORMANCE.md (a figure, not a pass/fail test).
TIMEFORMAT='%U %S'
t_xentop=$( { time xentop -b -d 0 -i 50 > /dev/null; } 2>&1 )
t_ours=$( { time xenadm top -b -d 0 -i 50 > /dev/null; } 2>&1 )
echo "perf: CPU seconds (user sys) for 50 samples: xentop $t_xentop; xenadm $t_ours"

echo "--- top (the interactive screen, in a pseudo-terminal)"
# script(1) gives xenadm a terminal of a set size; the keys arrive after the first screens:
# N (networks) then Q. The screen must show both domains, the vif row, and end with status 0
# and the terminal restored (the alternate screen left).
(sleep 6; printf 'n'; sleep 3; printf 'q') |
    timeout 60 script -qec "stty cols 100 rows 30; xenadm top -d 1" /dev/null > screen.raw ||
    fail "xenadm top (interactive) exited $? (124: it never quit on q)"
tr -c '[:print:]\n' ' ' < screen.raw | tail -c 3000
grep -aq "$name" screen.raw || fail "the screen never showed $name"
grep -aq 'Domain-0' screen.raw || fail "the screen never showed Domain-0"
grep -aq 'Net0' screen.raw || fail "N did not show the network rows"
grep -aq $'\e\[?1049l' screen.raw || fail "the alternate screen was not left on exit"

echo "--- net"
xenadm net || fail "xenadm net exited $?"
xenadm --json net > net.json || fail "xenadm --json net exited $?"
jq -e --arg v "vif$domid.0" --argjson d "$domid" --arg n "$name" \
    '.[] | select(.interface == $v and .domid == $d and .domain == $n and .bridge == "xenbr0")' net.json > /dev/null ||
    { cat net.json; fail "xenadm net does not show vif$domid.0 of $name (domain $domid) on xenbr0"; }
# Its counters are the backend's sysfs counters, named from the guest's side.
sys_tx=$(cat "/sys/class/net/vif$domid.0/statistics/tx_bytes")
got=$(jq --arg v "vif$domid.0" '.[] | select(.interface == $v) | .guest_rx_bytes' net.json)
[ "$got" -le "$sys_tx" ] && [ "$got" -gt 0 ] || fail "guest_rx_bytes $got vs the backend's tx_bytes $sys_tx"

echo "--- exporter"
xenadm exporter --listen "127.0.0.1:$port" > exporter.log 2>&1 &
echo $! > exporter.pid
scrape() { busybox wget -q -O metrics.txt "http://127.0.0.1:$port/metrics"; }
wait_until 15 scrape || { cat exporter.log; fail "no scrape from the exporter in 15 s"; }
grep -E "^xen_domain_cpu_seconds_total\{.*domain=\"$name\"" metrics.txt ||
    { head -n 40 metrics.txt; fail "the exporter has no CPU counter for $name"; }
grep -E "^xen_domain_memory_bytes\{.*domain=\"$name\".* 134217728$" metrics.txt ||
    { grep "$name" metrics.txt | head; fail "the exporter's memory for $name is not 128 MiB"; }
