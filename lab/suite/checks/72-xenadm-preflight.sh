# The migration preflight on the real hypervisor, target localhost over real ssh:
# `xenadm migrate --check GUEST localhost` on a running PV guest with a file disk and a vif
# passes the disk, memory, bridge, PCI, version and CPU rows; its CPUID levelling row agrees
# with what dom0's userspace really reads against dom0's policy (`cpuid -1r` vs
# `xen-cpuid -p 0`); the probe's facts agree with `xl info` and `xen-cpuid -p`; a target
# without xenadm is probed with stock tools and says so; `-s ""` cannot be probed (exit 2);
# with the guest's disk file gone the disk row fails and the exit status is 1.
# shellcheck source=lab/suite/lib.sh
. "$LAB_SUITE_LIB"
name=pf1
disk=/var/tmp/pf1-data.img
trap 'xl destroy "$name" >/dev/null 2>&1 || true; [ -e "$disk.away" ] && mv "$disk.away" "$disk"; rm -f "$disk"' EXIT
xenadm=$(command -v xenadm)

dd if=/dev/zero of="$disk" bs=1M count=4 status=none
echo "preflight disk" | dd of="$disk" conv=notrunc status=none
must xenlab-guest create "$name" --ip 10.0.0.21 --disk "$disk"
xenlab-guest wait "$name" 'DOMU: alive' 120 || fail "guest never printed 'DOMU: alive'"

# row NAME FIELD: a field of the named row in the JSON report.
row() { jq -r --arg n "$1" ".rows[] | select(.name == \$n) | .$2" report.json; }

# 1. xenadm on both ends (the target's xenadm is the staged one, outside ssh's PATH).
rc=0
xenadm --json migrate --check "$name" localhost --remote-xenadm "$xenadm" > report.json || rc=$?
cat report.json
[ "$rc" = 0 ] || fail "--check exited $rc, expected 0 (the guest can move to localhost)"
for r in target cpu "disk xvdb" memory "bridge xenbr0" pci "xen version" name; do
    [ "$(row "$r" verdict)" = pass ] || fail "row '$r' is $(row "$r" verdict), expected pass"
done
row "disk xvdb" detail | grep -q "4194304 bytes on both" || fail "disk row does not give the size"

# 2. The levelling row tells the truth: compare dom0's userspace CPUID with dom0's policy.
user7=$(cpuid -1r | awk '$1 == "0x00000007" && $2 == "0x00:" { sub("ebx=", "", $4); print $4 }')
pol7=$(xen-cpuid -p 0 | awk '/^ *00000007:00000000 ->/ { split($3, r, ":"); print "0x" r[2] }')
echo "dom0 leaf 7 EBX: userspace $user7, policy $pol7"
[ -n "$user7" ] && [ -n "$pol7" ] || fail "could not read dom0's leaf 7 (cpuid -1r / xen-cpuid -p 0)"
lev=$(row "cpuid levelling" verdict)
detail=$(row "cpuid levelling" detail)
if [ "$((user7))" != "$((pol7))" ]; then
    [ "$lev" = warn ] || fail "userspace reads $user7 but the policy is $pol7, yet the levelling row is '$lev'"
    grep -q "policy hides" <<< "$detail" || fail "levelling row gives no evidence: $detail"
    row "cpuid levelling" fix | grep -q "only the guest kernel" || fail "levelling row does not say a mask protects only the kernel"
else
    grep -q "matches dom0's policy" <<< "$detail" || fail "userspace matches the policy, row says: $detail"
fi

# 3. The probe's facts against the stock tools.
must xenadm migrate-probe --json --disk "$disk" > probe.json
free_kib=$(jq .free_memory_kib probe.json)
xl_free=$(xl_info free_memory)
[ $((free_kib / 1024 - xl_free)) -le 1 ] && [ $((xl_free - free_kib / 1024)) -le 1 ] ||
    fail "probe free memory $free_kib KiB, xl info $xl_free MiB"
probe7=$(jq -r '.pv_max.leaves[] | select(.leaf == 7 and .subleaf == 0) | .b' probe.json)
max7=$(xen-cpuid -p | awk '/^PV Max policy/ { m = 1 } /^HVM Max policy/ { m = 0 } m && /^ *00000007:00000000 ->/ { split($3, r, ":"); print "0x" r[2] }')
[ "$probe7" = "$((max7))" ] || fail "probe PV max leaf 7 EBX $probe7, xen-cpuid -p $max7"
[ "$(jq -r .disks[0].size_bytes probe.json)" = 4194304 ] || fail "probe disk size wrong"

# 4. A target without xenadm: stock tools, and the table says what they could not tell.
rc=0
xenadm migrate --check "$name" localhost --remote-xenadm /nonexistent/xenadm > stock.txt || rc=$?
cat stock.txt
[ "$rc" = 0 ] || fail "--check with stock tools exited $rc, expected 0"
grep -Eq '^target +warn +.*stock tools' stock.txt || fail "stock probe not named in the target row"
grep -q 'levelling caps unknown' stock.txt || fail "the table does not say what stock tools cannot tell"
grep -Eq '^disk xvdb +pass' stock.txt || fail "stock probe: disk row not pass"
grep -Eq '^cpu +pass' stock.txt || fail "stock probe: cpu row not pass"

# 5. A raw transport cannot be probed.
rc=0
xenadm migrate --check "$name" "ssh localhost xl migrate-receive" -s "" > raw.txt || rc=$?
cat raw.txt
[ "$rc" = 2 ] || fail "-s \"\" exited $rc, expected 2"
grep -Eq '^target +unchecked +.*could not be probed' raw.txt || fail "raw transport not reported"

# 6. The disk file gone (the guest keeps its open loop device): that row fails, exit 1.
mv "$disk" "$disk.away"
rc=0
xenadm migrate --check "$name" localhost --remote-xenadm "$xenadm" > gone.txt || rc=$?
cat gone.txt
mv "$disk.away" "$disk"
[ "$rc" = 1 ] || fail "--check with the disk missing exited $rc, expected 1"
grep -Eq "^disk xvdb +FAIL +$disk does not exist on the target" gone.txt || fail "disk row did not fail"
grep -q "must not move: 1 check failed" gone.txt || fail "headline does not count the failure"
xl list "$name" > /dev/null || fail "the guest is gone after --check"
