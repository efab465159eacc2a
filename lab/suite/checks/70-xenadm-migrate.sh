# Live migration on one host with xenadm, wire-compatible with xl both ways (issue 15). One PV
# guest moves five times: xenadm -> stock `xl migrate-receive`, stock `xl migrate` -> xenadm's
# receiver, xenadm -> xenadm (JSON progress, summary), xenadm -> xenadm with --compress (fewer
# bytes on the wire, downtime from libxl's suspend event), and a migration whose receiver is killed
# (kill -9) mid-stream: the guest keeps running on the source under its name and domid.
# Receivers run `-e`-style (xl's monitor children crash under TCG, see lab/README.md) and over
# `-s ""` (no ssh: its crypto costs ~12 s per migration under TCG), with --no-check: the
# preflight has its own check (72); this one proves the wire protocol.
# shellcheck source=lab/suite/lib.sh
. "$LAB_SUITE_LIB"
name=labmig7
trap 'for d in "$name" "$name--incoming" "$name--migratedaway"; do xl destroy "$d" >/dev/null 2>&1 || true; done' EXIT

need_shadow_paging
must xenlab-guest create "$name" --ip 10.0.0.17
xenlab-guest wait "$name" 'DOMU: alive' 120 || fail "guest never printed 'DOMU: alive'"
xenlab-guest wait "$name" 'ping ok' 60 || fail "guest never reached dom0 (no 'ping ok')"
# xenconsoled names a console log when the domain appears, so a received guest (created as
# NAME--incoming, by xl's receiver as by xenadm's) logs to guest-NAME--incoming.log. The guest
# ticks during the live transfer too, so lines are counted once the command has returned.
logs="/var/log/xen/console/guest-$name.log /var/log/xen/console/guest-$name--incoming.log"
snapshot() { for f in $logs; do if [ -f "$f" ]; then wc -l < "$f"; else echo 0; fi; done | paste -sd' '; }
ticked_since() {
    local i=0 f n
    for f in $logs; do
        i=$((i + 1)); n=$(echo "$1" | cut -d' ' -f"$i")
        [ -f "$f" ] && tail -n "+$((n + 1))" "$f" | grep -q 'DOMU: tick .*ping ok' && return 0
    done
    return 1
}
ticks_on() {
    local what=$1 lines
    lines=$(snapshot)
    wait_until 30 ticked_since "$lines" || { tail -n 5 $logs; fail "$what: $name printed no new 'tick ... ping ok' in 30 s"; }
}

# After a move: a new domid, nothing left under the temporary names, and the guest ticks on.
moved() {
    local what=$1 before=$2 after
    after=$(domid_of "$name") || fail "$what: $name not listed afterwards"
    [ "$after" != "$before" ] || fail "$what: $name kept domain id $before"
    ! xl list "$name--incoming" >/dev/null 2>&1 || fail "$what: $name--incoming left behind"
    ! xl list "$name--migratedaway" >/dev/null 2>&1 || fail "$what: $name--migratedaway left behind"
    ticks_on "$what"
    echo "$what: domain $before -> $after, guest ticks on"
}

# 1. xenadm -> stock xl receiver.
before=$(domid_of "$name")
xenadm migrate --no-check -s "" "$name" "xl migrate-receive -e" > m1.out 2> m1.err ||
    { cat m1.out m1.err; fail "xenadm migrate to xl migrate-receive exited $?"; }
cat m1.out m1.err
grep -q "^Migration successful: $name moved" m1.out || fail "no success line from xenadm"
moved "xenadm -> xl" "$before"

# 2. stock xl sender -> xenadm receiver.
before=$(domid_of "$name")
xl migrate -s "" -e "$name" "xenadm migrate-receive" > m2.log 2>&1 ||
    { cat m2.log; fail "xl migrate to xenadm migrate-receive exited $?"; }
cat m2.log
grep -q 'Migration successful' m2.log || fail "xl did not report success"
grep -q 'migration target: Domain started successfully' m2.log || fail "xenadm's receiver messages missing"
moved "xl -> xenadm" "$before"

# 3. xenadm -> xenadm, progress as JSON lines, summary as JSON.
before=$(domid_of "$name")
xenadm --json migrate --no-check --progress json -s "" "$name" "xenadm migrate-receive" > m3.out 2> m3.err ||
    { cat m3.out m3.err; fail "xenadm migrate to xenadm migrate-receive exited $?"; }
cat m3.err
grep '"event":"progress"' m3.out | tail -n 3
grep -q '"phase":"handover"' m3.out || fail "no handover phase event"
# The summary is the pretty JSON object after the event lines.
sed -n '/^{$/,$p' m3.out > summary.json
jq . summary.json
passes=$(jq '.passes | length' summary.json)
[ "$passes" -ge 2 ] || fail "a live migration with $passes pass(es)"
first=$(jq '.passes[0]' summary.json)
mem_pages=$(( $(xl list "$name" | awk 'NR == 2 { print $3 }') * 256 ))
[ "$first" -le "$mem_pages" ] && [ "$first" -ge $((mem_pages * 90 / 100)) ] ||
    fail "first pass sent $first pages for a guest of $mem_pages"
jq -e '.downtime_s > 0 and .downtime_s < 30' summary.json > /dev/null || fail "downtime not reported sensibly"
moved "xenadm -> xenadm" "$before"

# 3b. xenadm -> xenadm with --compress (issue 15): asked by the rune (` --wire lz4`), so not over
# `-s ""`: `-s env` runs the receiver here ("exec env XENADM_LAB=1 xenadm migrate-receive -e
# --wire lz4"). Fewer bytes on the wire than the stream, and than 3's plain migration.
plain_bytes=$(jq '.bytes' summary.json)
before=$(domid_of "$name")
xenadm --json migrate --no-check --compress -e -s env "$name" XENADM_LAB=1 > m3c.out 2> m3c.err ||
    { cat m3c.out m3c.err; fail "xenadm migrate --compress to xenadm migrate-receive exited $?"; }
cat m3c.err
jq . m3c.out
wire_bytes=$(jq '.wire.wire_bytes' m3c.out)
stream_bytes=$(jq '.wire.stream_bytes' m3c.out)
[ "$wire_bytes" -gt 0 ] && [ "$wire_bytes" -lt "$stream_bytes" ] && [ "$wire_bytes" -lt "$plain_bytes" ] ||
    fail "compressed: $wire_bytes bytes on the wire for a stream of $stream_bytes (plain migration: $plain_bytes)"
jq -e '.downtime_from == "libxl"' m3c.out > /dev/null || fail "downtime not taken from libxl's suspend event"
echo "compressed: $wire_bytes bytes on the wire for $stream_bytes stream bytes (plain: $plain_bytes)"
moved "xenadm -> xenadm compressed" "$before"

# 4. The receiver killed (kill -9) mid-stream: the guest stays on the source, running.
before=$(domid_of "$name")
rm -f recv.pid
xenadm migrate --no-check -s "" "$name" "echo \$\$ > $PWD/recv.pid; exec xenadm migrate-receive" > m4.out 2> m4.err &
sender=$!
# Mid-stream: the target's domain exists and the first pass is under way.
incoming() { [ -s recv.pid ] && xl list "$name--incoming" >/dev/null 2>&1; }
wait_until 60 incoming || { kill "$sender" 2>/dev/null; cat m4.err; fail "the receiver never created $name--incoming"; }
sleep 2
kill -9 "$(cat recv.pid)"
rc=0; wait "$sender" || rc=$?
cat m4.out m4.err
[ "$rc" = 1 ] || fail "xenadm migrate exited $rc after its receiver was killed (1 = still on the source)"
grep -q "is still running on this host" m4.err || fail "no statement of where the guest is"
after=$(domid_of "$name") || fail "$name gone from the source"
[ "$after" = "$before" ] || fail "$name changed domid $before -> $after without moving"
xl list "$name" | awk 'NR == 2 && $5 ~ /[rb]/ { ok = 1 } END { exit !ok }' || { xl list; fail "$name is not running"; }
ticks_on "receiver killed"
# A receiver killed with -9 cannot clean up: its partial domain stays (as with xl); the
# sender's message names the command.
grep -q "xl destroy $name--incoming" m4.err || fail "the fix for the target's partial copy is not named"
xl destroy "$name--incoming" 2>/dev/null || true
echo "receiver killed: $name still runs on the source as domain $after"
