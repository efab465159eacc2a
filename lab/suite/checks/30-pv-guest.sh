# A PV guest on the real hypervisor: `xl create` starts it, its console shows it booted, its
# vif's counters move on dom0's side (it pings dom0 over xenbr0), `xl save` then `xl restore`
# bring it back running under a new domain id. Later checks build on this lifecycle.
# shellcheck source=lab/suite/lib.sh
. "$LAB_SUITE_LIB"
name=labpv1
log=$(xenlab-guest log "$name")
trap 'xl destroy "$name" >/dev/null 2>&1 || true' EXIT

must xenlab-guest create "$name" --ip 10.0.0.11
xenlab-guest wait "$name" 'DOMU: alive' 120 || fail "guest never printed 'DOMU: alive'"
xenlab-guest wait "$name" 'ping ok' 60 || fail "guest never reached dom0 (no 'ping ok')"

# dom0's side of the guest's network: vifDOMID.0 on xenbr0.
packets() { cat "/sys/class/net/vif$(domid_of "$name").0/statistics/$1_packets" 2>/dev/null || echo 0; }
rx0=$(packets rx) tx0=$(packets tx)
moved() { [ "$(packets rx)" -gt "$rx0" ] && [ "$(packets tx)" -gt "$tx0" ]; }
wait_until 30 moved || fail "vif counters did not move in 30 s (rx $rx0 -> $(packets rx), tx $tx0 -> $(packets tx))"
echo "vif$(domid_of "$name").0 rx_packets $rx0 -> $(packets rx), tx_packets $tx0 -> $(packets tx)"

before=$(domid_of "$name")
must xl save "$name" "$PWD/$name.save"
! domid_of "$name" > /dev/null || fail "$name still listed after xl save"
lines=$(wc -l < "$log")
# -e: no background monitor process (see xenlab-guest create).
must xl restore -e "$PWD/$name.save"
after=$(domid_of "$name") || fail "$name not listed after xl restore"
[ "$after" != "$before" ] || fail "restored $name kept domain id $before"
state=$(xl list "$name" | awk 'NR == 2 { print $5 }')
[[ $state == *r* || $state == *b* ]] || fail "restored $name is in state '$state', not running/blocked"
# Running again means new console ticks, and new traffic on the new vif.
ticked() { tail -n "+$((lines + 1))" "$log" | grep -q 'DOMU: tick .*ping ok'; }
wait_until 30 ticked || { tail -n 20 "$log"; fail "restored $name printed no new 'tick ... ping ok' in 30 s"; }
echo "domain $before -> $after after save/restore; console: $(tail -n 1 "$log")"
