# Migration streams from real Xen: `xl save` of a running PV guest, then `xenadm stream verify`
# and `inspect` on the file (guest name from its config, pages consistent with its memory), then
# a live migration with xenadm in the pipe: `xl migrate -s "" GUEST "xenadm stream relay |
# xl migrate-receive"` moves the guest while the relay parses every record, and the guest runs on.
# shellcheck source=lab/suite/lib.sh
. "$LAB_SUITE_LIB"
name=labmig1
trap 'for d in "$name" "$name--incoming" "$name--migratedaway"; do xl destroy "$d" >/dev/null 2>&1 || true; done' EXIT

must xenlab-guest create "$name" --ip 10.0.0.14
xenlab-guest wait "$name" 'DOMU: alive' 120 || fail "guest never printed 'DOMU: alive'"
xenlab-guest wait "$name" 'ping ok' 60 || fail "guest never reached dom0 (no 'ping ok')"
mem_mib=$(xl list "$name" | awk 'NR == 2 { print $3 }')

# 1. A real save file.
must xl save "$name" "$PWD/$name.save"
must xenadm stream verify "$PWD/$name.save"
xenadm --json stream inspect "$PWD/$name.save" > inspect.json || { cat inspect.json; fail "xenadm stream inspect exited $?"; }
xenadm stream inspect "$PWD/$name.save"
[ "$(jq -r '.guest.name' inspect.json)" = "$name" ] || fail "inspect names guest '$(jq -r '.guest.name' inspect.json)', not $name"
[ "$(jq -r '.domain_type' inspect.json)" = pv ] || fail "inspect says domain type $(jq -r '.domain_type' inspect.json), not pv"
pages=$(jq -r '.iterations[0].pfns' inspect.json)
# A non-live PV save sends each populated page once: the guest's memory in 4 KiB pages, less
# what it ballooned out (nothing here) and within 2% for the pages Xen itself keeps.
want=$((mem_mib * 256))
echo "pages in the save file: $pages; guest memory: $mem_mib MiB = $want pages"
[ "$pages" -le "$want" ] && [ "$pages" -ge $((want * 98 / 100)) ] ||
    fail "page count $pages is not consistent with $mem_mib MiB ($want pages)"
# A copy cut short is rejected, naming the offset where the stream stops.
head -c $(( $(stat -c %s "$name.save") / 2 )) "$name.save" > cut.save
if xenadm stream verify cut.save > cut.out 2>&1; then cat cut.out; fail "verify accepted a truncated save file"; fi
cat cut.out

# 2. Live migration through the relay (PV live migration needs shadow paging).
must xl restore -e "$PWD/$name.save"
xenlab-guest wait "$name" 'ping ok' 60 || fail "restored guest does not answer"
need_shadow_paging
before=$(domid_of "$name")
lines=$(wc -l < "$(xenlab-guest log "$name")")
xl migrate -s "" -e "$name" "xenadm stream relay 2> $PWD/relay.log | xl migrate-receive -e" > migrate.log 2>&1 ||
    { cat migrate.log relay.log; fail "xl migrate through xenadm stream relay failed"; }
cat relay.log
# The relay parsed the whole stream (both ENDs, every pass) and passed xl's GO message on.
grep -q "relay: $name: .* stream END at byte .*(xl's GO message)" relay.log || fail "the relay did not see the whole stream"
! grep -qi 'warning\|problem' relay.log || fail "the relay reported a problem in a real migration stream"
grep -q 'Migration successful' migrate.log || { cat migrate.log; fail "xl did not report success"; }
after=$(domid_of "$name") || fail "$name not listed after the migration"
[ "$after" != "$before" ] || fail "migrated $name kept domain id $before"
log=$(xenlab-guest log "$name")
ticked() { tail -n "+$((lines + 1))" "$log" | grep -q 'DOMU: tick .*ping ok'; }
wait_until 30 ticked || { tail -n 20 "$log"; fail "migrated $name printed no new 'tick ... ping ok' in 30 s"; }
echo "domain $before -> $after through xenadm stream relay"
