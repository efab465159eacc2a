# Scenarios 3 and 4 with one guest (one boot, two migrations), the guide's procedure:
# 3. a guest started on hosta with the `cpuid =` line of `xenadm cpuid mask A.txt B.txt` lists
#    none of the masked features on hosta nor, after `xl migrate GUEST hostb`, on hostb; it keeps
#    ticking there and answers pings from hostb's dom0; migrating it back to hosta works too.
# 4. its writable disk is on the shared storage (shared disk 1, /dev/vdb on both hosts): every
#    other tick it reads a counter from the disk and writes the next one, both with O_DIRECT
#    (lab/pair-dom0/guest-cmd). On hostb it reads what it wrote on hosta and writes on; both
#    dom0s read the same counter from the device.
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
must guest_create a "$name" --ip "$ip" --initrd "$initrd" --extra xenlab.cmd_every=2 \
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

rc=0
migrate a "$name" b > there.log 2>&1 || rc=$?
cat there.log
[ "$rc" = 0 ] && grep -q 'Migration successful' there.log || fail "xl migrate $name hostb exited $rc"
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

# And back to hosta.
rc=0
migrate b "$name" a > back.log 2>&1 || rc=$?
cat back.log
[ "$rc" = 0 ] && grep -q 'Migration successful' back.log || fail "xl migrate $name hosta (back) exited $rc"
! domid_of b "$name" > /dev/null || fail "$name is still on hostb after migrating back"
guest_wait a "$name" '^DOMU: tick .* ping ok' 180 || fail "guest does not tick on hosta after migrating back"
guest_wait a "$name" '^DOMU-CMD: flags:' 120 || fail "guest printed no CPU flags after migrating back"
guest_flags a "$name" > flags-back
comm -12 flags-back lacking > listed-back
[ ! -s listed-back ] || fail "masked guest lists $(tr '\n' ' ' < listed-back)after migrating back"
echo "back on hosta: ticking, $(guest_state a "$name"), none of the masked features listed"
