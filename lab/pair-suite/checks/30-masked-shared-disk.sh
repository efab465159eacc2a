# Scenarios 3 and 4 with one guest (one boot), the guide's procedure, and xenadm's migration
# over real ssh in every pairing with xl (issue 15):
# 3. a guest started on hosta with the `cpuid =` line of `xenadm cpuid mask A.txt B.txt` passes
#    `xenadm migrate --check GUEST hostb`, and lists none of the masked features on hosta nor,
#    after `xenadm migrate GUEST hostb` (xenadm to xenadm), on hostb; it keeps ticking there and
#    answers pings from hostb's dom0. It comes back to hosta with stock `xl migrate` into
#    `xenadm migrate-receive`, still listing none.
# 4. its writable disk is on the shared storage (shared disk 1, /dev/vdb on both hosts): every
#    other tick it reads a counter from the disk and writes the next one, both with O_DIRECT
#    (lab/pair-dom0/guest-cmd). On hostb it reads what it wrote on hosta and writes on; both
#    dom0s read the same counter from the device.
# Then a `xenadm migrate` to hostb cancelled with SIGINT while memory is sent leaves it running on
# hosta (same domain id, ticking) and nothing on hostb; and `xenadm migrate` into stock `xl
# migrate-receive` moves it to hostb, where it reads its disk from where it left it.
# shellcheck source=lab/pair-suite/lib.sh
. "$PAIR_SUITE_LIB"
need_shadow_paging
name=pairmask ip=10.0.0.22 disk=/dev/vdb
cleanup_guests "$name"

xenadm_bin=$PAIR_DIR/hosta/ctrl/bin/xenadm
for h in a b; do
    on "$h" 'modprobe cpuid && xenadm cpuid dump -1' > "$h.txt" || fail "xenadm cpuid dump -1 on host$h exited $?"
done
"$xenadm_bin" cpuid mask a.txt b.txt > mask || fail "xenadm cpuid mask a.txt b.txt exited $?"
cat mask
comm -23 <(host_flags a) <(host_flags b) > lacking
[ -s lacking ] || fail "hosta's dom0 lists no CPU flag that hostb's lacks: nothing to mask"
echo "hostb's dom0 lacks: $(tr '\n' ' ' < lacking)"
# Shared storage: hosta clears the disk's first sector, and hostb sees it cleared.
must on a "dd if=/dev/zero of=$disk bs=512 count=1 oflag=direct"
for h in a b; do
    [ -z "$(on "$h" "dd if=$disk bs=512 count=1 iflag=direct 2>/dev/null | tr -d '\\0'")" ] ||
        fail "shared disk $disk on host$h is not empty after hosta cleared it"
done

initrd=$(pair_initrd a)
must guest_create a "$name" --mem 96 --ip "$ip" --initrd "$initrd" --extra xenlab.cmd_every=2 \
    --disk-rw "$disk" --cfg "$(cat mask)"
guest_wait a "$name" '^DOMU-CMD: disk: read gen [0-9]+, wrote gen' 400 ||
    fail "guest wrote no counter to the shared disk on hosta"
guest_flags a "$name" > flags-a
[ -s flags-a ] || fail "guest printed an empty flag list"
comm -12 flags-a lacking > listed-a
[ ! -s listed-a ] || fail "masked guest on hosta lists $(tr '\n' ' ' < listed-a)(masked features)"
# The marker, as hostb sees the shared disk before the guest comes over.
marker=$(on b "dd if=$disk bs=512 count=1 iflag=direct 2>/dev/null | head -n 1")
[[ $marker =~ ^gen\ [0-9]+$ ]] || fail "hostb reads '$marker' from the shared disk, not the guest's counter"
echo "masked guest on hosta lists none of the masked features; hostb's dom0 reads '$marker' from $disk"

remote_a=$(xenadm_path a) remote_b=$(xenadm_path b)
rc=0
preflight a "$name" b "$remote_b" check || rc=$?
[ "$rc" = 0 ] || fail "xenadm migrate --check of the masked guest exited $rc, expected 0 (can move)"
for r in cpu "disk xvdb" memory pci name; do
    [ "$(row check "$r" verdict)" = pass ] || fail "--check's row '$r' is '$(row check "$r" verdict)', expected pass"
done

# 3. xenadm -> xenadm over ssh (its preflight runs first, as by default).
rc=0
xmigrate a "$name" b --remote-xenadm "'$remote_b'" --receive-command "'$remote_b migrate-receive'" > there.log 2>&1 || rc=$?
cat there.log
[ "$rc" = 0 ] && grep -q "^Migration successful: $name moved to hostb in .*downtime [0-9]* ms" there.log ||
    fail "xenadm migrate $name hostb (to xenadm) exited $rc"
! domid_of a "$name" > /dev/null || fail "$name is still on hosta after the migration"
domid_of b "$name" > /dev/null || fail "$name is not on hostb after the migration"

# Two disk reports on hostb: at least one was surely run there (the first may be output the
# guest printed on hosta just before it was suspended).
on_b_disk() { [ "$(guest_log b "$name" | grep -c '^DOMU-CMD: disk: read gen [0-9]*, wrote gen')" -ge 2 ]; }
wait_until 240 on_b_disk || { guest_log b "$name" | tail -n 20; fail "guest wrote no counter on hostb"; }
guest_wait b "$name" '^DOMU: tick .* ping ok' 120 || fail "guest does not tick (with ping ok) on hostb"
guest_flags b "$name" > flags-b
comm -12 flags-b lacking > listed-b
[ ! -s listed-b ] || fail "masked guest on hostb lists $(tr '\n' ' ' < listed-b)(masked features)"
must on b "busybox ping -c 3 -W 2 $ip"
# The counter chain across both hosts: each read is the previous write, so on hostb the guest
# read from its disk what it had written on hosta, and wrote on.
{ guest_log a "$name"; guest_log b "$name"; } | sed -n 's/^DOMU-CMD: disk: read gen \([0-9a-z]*\), wrote gen \([0-9]*\)$/\1 \2/p' > chain
cat chain | tr '\n' ';'; echo
awk 'NR > 1 && $1 != prev { print "line " NR ": read gen " $1 " after writing gen " prev; bad = 1 } { prev = $2 } END { exit bad }' chain ||
    fail "the guest's counter chain breaks across the migration (the disk on hostb is not the one it wrote on hosta)"
last=$(tail -n 1 chain | cut -d' ' -f2)
seen_a=$(on a "dd if=$disk bs=512 count=1 iflag=direct 2>/dev/null | head -n 1")
seen_b=$(on b "dd if=$disk bs=512 count=1 iflag=direct 2>/dev/null | head -n 1")
echo "after the move: guest's last write gen $last; $disk holds '$seen_a' on hosta, '$seen_b' on hostb"
[ "${seen_a#gen }" -ge "$last" ] && [ "${seen_b#gen }" -ge "$last" ] ||
    fail "the shared disk does not hold the guest's latest counter on both hosts"

# Back to hosta: stock xl sender -> xenadm receiver (xl's `-s ""`: the whole transport given).
on a "rm -f /var/log/xen/console/guest-$name--incoming.log"
rc=0 t0=$SECONDS
on b "xl migrate -s '' -e $name 'ssh hosta $remote_a migrate-receive'" > back.log 2>&1 || rc=$?
cat back.log
echo "xl migrate $name hostb -> hosta (to xenadm migrate-receive): status $rc after $((SECONDS - t0)) s"
[ "$rc" = 0 ] && grep -q 'Migration successful' back.log || fail "xl migrate $name to hosta's xenadm migrate-receive exited $rc"
grep -q 'migration target: Domain started successfully' back.log || fail "xenadm's receiver messages are missing from xl's output"
! domid_of b "$name" > /dev/null || fail "$name is still on hostb after migrating back"
guest_wait a "$name" '^DOMU: tick .* ping ok' 180 || fail "guest does not tick on hosta after migrating back"
guest_wait a "$name" '^DOMU-CMD: flags:' 120 || fail "guest printed no CPU flags after migrating back"
guest_flags a "$name" > flags-back
comm -12 flags-back lacking > listed-back
[ ! -s listed-back ] || fail "masked guest lists $(tr '\n' ' ' < listed-back)after migrating back"
echo "back on hosta: ticking, $(guest_state a "$name"), none of the masked features listed"

# A cancel: `xenadm migrate` to hostb, SIGINT once memory is flowing (its first JSON progress
# event with bytes sent): exit 1, the guest runs on hosta under the same domain id, and hostb
# drops its partial copy.
before=$(domid_of a "$name")
rc=0
on a "rm -f /tmp/cancel.out /tmp/cancel.err
      xenadm migrate -e --progress json --remote-xenadm '$remote_b' --receive-command '$remote_b migrate-receive' $name hostb > /tmp/cancel.out 2> /tmp/cancel.err & pid=\$!
      for i in \$(seq 1500); do grep -q '\"event\":\"progress\",\"bytes\":[1-9]' /tmp/cancel.out && break; kill -0 \$pid 2>/dev/null || break; sleep 0.2; done
      kill -INT \$pid; rc=0; wait \$pid || rc=\$?; tail -n 3 /tmp/cancel.out; cat /tmp/cancel.err; exit \$rc" > cancel.log 2>&1 || rc=$?
cat cancel.log
[ "$rc" = 1 ] || fail "xenadm migrate exited $rc after SIGINT (expected 1: still on the source)"
grep -q 'cancelling' cancel.log && grep -q 'still running on this host' cancel.log || fail "no cancel or placement message"
[ "$(domid_of a "$name")" = "$before" ] || fail "$name is not on hosta as domain $before after the cancel"
guest_runs a "$name" || fail "$name is not running on hosta after the cancel ($(guest_state a "$name"))"
gone_b() { ! on b "xl domid $name--incoming" > /dev/null 2>&1; }
wait_until 60 gone_b || fail "hostb kept $name--incoming after the cancel"
! domid_of b "$name" > /dev/null || fail "$name appeared on hostb after the cancel"
ticks=$(guest_log a "$name" | grep -c '^DOMU: tick') || true
ticks_on() { [ "$(guest_log a "$name" | grep -c '^DOMU: tick .* ping ok')" -gt "$ticks" ]; }
wait_until 60 ticks_on || fail "guest does not tick on hosta after the cancel"
echo "cancelled: $name still runs on hosta as domain $before; nothing left on hostb"

# xenadm -> stock `xl migrate-receive` on hostb; the guest reads its disk where it left it.
marker=$(on a "dd if=$disk bs=512 count=1 iflag=direct 2>/dev/null | head -n 1")
[[ $marker =~ ^gen\ [0-9]+$ ]] || fail "hosta reads '$marker' from the shared disk, not the guest's counter"
rc=0
xmigrate a "$name" b --remote-xenadm "'$remote_b'" --receive-command "'xl migrate-receive'" > toxl.log 2>&1 || rc=$?
cat toxl.log
[ "$rc" = 0 ] && grep -q "^Migration successful: $name moved to hostb" toxl.log || fail "xenadm migrate $name hostb (to xl) exited $rc"
! domid_of a "$name" > /dev/null || fail "$name is still on hosta after the migration to xl"
domid_of b "$name" > /dev/null || fail "$name is not on hostb after the migration to xl"
read_on_b() {
    guest_log b "$name" | sed -n 's/^DOMU-CMD: disk: read gen \([0-9]*\), wrote gen.*/\1/p' |
        awk -v m="${marker#gen }" '$1 >= m { ok = 1 } END { exit !ok }'
}
wait_until 180 read_on_b || { guest_log b "$name" | tail -n 20; fail "on hostb the guest never read the counter it wrote on hosta (gen >= ${marker#gen })"; }
guest_wait b "$name" '^DOMU: tick .* ping ok' 120 || fail "guest does not tick (with ping ok) on hostb after xenadm -> xl"
echo "xenadm -> xl: on hostb, $(guest_state b "$name"), reads its disk from where it left it on hosta (${marker})"
