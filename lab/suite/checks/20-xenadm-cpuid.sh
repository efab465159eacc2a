# xenadm cpuid inside dom0: its own dump parses and masks against itself to all-x, and it
# agrees with Debian's `cpuid -1r` on every leaf both print (same vCPU, same physical CPU).
# xenadm reads through the kernel's CPUID driver when it is loaded, which in a PV domain is
# what Xen answers; the stock tool is asked the same way (`cpuid -k`).
# shellcheck source=lab/suite/lib.sh
. "$LAB_SUITE_LIB"

xenadm cpuid dump -1 > a || fail "xenadm cpuid dump -1 exited $?"
mask=$(must xenadm cpuid mask a a)
echo "$mask"
values=$(grep -o '"0x[^"]*"' <<< "$mask" | sed 's/.*=//; s/"$//')
[ -n "$values" ] || fail "mask of a dump against itself printed no register"
if grep -v '^x*$' <<< "$values"; then
    fail "mask of a dump against itself is not all x"
fi

# Pin dom0's vCPU 0 to physical CPU 0 while both tools run on it: a PV guest may see the
# physical CPU's APIC IDs, which differ between pCPUs.
xl vcpu-pin 0 0 0
trap 'xl vcpu-pin 0 0 all' EXIT
modprobe cpuid
[ -e /dev/cpu/0/cpuid ] || fail "no /dev/cpu/0/cpuid after modprobe cpuid"
taskset -c 0 xenadm cpuid dump -1 > ours || fail "xenadm cpuid dump -1 exited $?"
taskset -c 0 cpuid -k -1r > theirs || fail "cpuid -k -1r exited $?"
# Lines look like "   0x00000001 0x00: eax=0x... ebx=0x... ecx=0x... edx=0x...".
regs() { awk '$1 ~ /^0x/ && $2 ~ /^0x..:$/ { print $1, $2, $3, $4, $5, $6 }' "$1" | sort; }
regs ours > ours.leaves
regs theirs > theirs.leaves
keys() { awk '{ print $1 "/" $2 }' "$1" | sort -u; }
comm -12 <(keys ours.leaves) <(keys theirs.leaves) > shared
shared=$(wc -l < shared)
[ "$shared" -ge 10 ] || fail "only $shared leaves in common"
only_shared() { awk 'NR == FNR { keep[$1]; next } ($1 "/" $2) in keep' shared "$1"; }
if ! diff <(only_shared ours.leaves) <(only_shared theirs.leaves); then
    fail "xenadm cpuid dump -1 (<) and cpuid -k -1r (>) differ on leaves both print"
fi
echo "$shared leaves agree"
