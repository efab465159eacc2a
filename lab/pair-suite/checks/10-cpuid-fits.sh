# Scenario 1, the guide's first step across two hosts: `xenadm cpuid dump -1` in each dom0;
# `xenadm cpuid fits A B` answers no and names exactly the feature bits B lacks (the oracle:
# Debian's `cpuid -k -1r` on both hosts, bit by bit, over every feature register xenadm masks);
# `fits B A` answers yes. Also proves the pair's CPU difference reaches Xen's PV policies
# (`xen-cpuid -p`, PV Default leaf 7.0 ebx): B's is a strict subset of A's.
# shellcheck source=lab/pair-suite/lib.sh
. "$PAIR_SUITE_LIB"

for h in a b; do
    # Through the kernel's CPUID driver (what Xen answers dom0), both tools the same way.
    on "$h" 'modprobe cpuid && taskset -c 0 xenadm cpuid dump -1' > "$h.txt" || fail "xenadm cpuid dump -1 on host$h exited $?"
    on "$h" 'taskset -c 0 cpuid -k -1r' > "$h.stock" || fail "cpuid -k -1r on host$h exited $?"
    on "$h" 'xen-cpuid -p' > "$h.policy" || fail "xen-cpuid -p on host$h exited $?"
done

# The oracle: "REG bit N" for each bit set on A and clear on B, in xenadm's register labels.
# Dump lines look like "   0x00000007 0x00: eax=0x... ebx=0x... ecx=0x... edx=0x...".
regs_of() {
    local leaf sub eax ebx ecx edx
    declare -gA R=()
    while read -r leaf sub eax ebx ecx edx; do
        [[ $leaf == 0x* && $sub == 0x??: ]] || continue
        leaf=$((leaf)) sub=$((${sub%:}))
        R[$leaf.$sub.eax]=$((${eax#eax=})) R[$leaf.$sub.ebx]=$((${ebx#ebx=}))
        R[$leaf.$sub.ecx]=$((${ecx#ecx=})) R[$leaf.$sub.edx]=$((${edx#edx=}))
    done < "$1"
}
lacking() {
    local -A A B
    local spec key label bit a b
    regs_of "$1"; for key in "${!R[@]}"; do A[$key]=${R[$key]}; done
    regs_of "$2"; for key in "${!R[@]}"; do B[$key]=${R[$key]}; done
    # Every register xenadm masks (with --extended), as "leaf.subleaf.reg label".
    for spec in "1.0.ecx 1.ecx" "1.0.edx 1.edx" "7.0.ebx 7.0.ebx" "7.0.ecx 7.0.ecx" \
        "7.0.edx 7.0.edx" "7.1.eax 7.1.eax" "13.1.eax 0xd.1.eax" "2147483649.0.ecx 0x80000001.ecx" \
        "2147483649.0.edx 0x80000001.edx" "2147483655.0.edx 0x80000007.edx" \
        "2147483656.0.ebx 0x80000008.ebx"; do
        key=${spec% *} label=${spec#* }
        a=${A[$key]:-0} b=${B[$key]:-0}
        for bit in $(seq 0 31); do
            if (( (a >> bit & 1) && !(b >> bit & 1) )); then echo "$label bit $bit"; fi
        done
    done | sort
}
lacking a.stock b.stock > expected
[ -s expected ] || fail "cpuid -k -1r shows no feature on hosta that hostb lacks: is the pair's CPU difference (XENLAB_PAIR_CPU_A/B) gone?"
[ -z "$(lacking b.stock a.stock)" ] || fail "hostb has features hosta lacks: $(lacking b.stock a.stock | tr '\n' ',')"
echo "hostb lacks (cpuid -k -1r): $(tr '\n' ',' < expected)"

rc=0
xenadm_bin=$(ls "$PAIR_DIR"/hosta/ctrl/bin/xenadm)
"$xenadm_bin" cpuid fits a.txt b.txt > fits-ab 2>&1 || rc=$?
cat fits-ab
[ "$rc" = 1 ] || fail "xenadm cpuid fits A B exited $rc, expected 1 (no)"
grep -q '^no' fits-ab || fail "xenadm cpuid fits A B did not answer no"
grep -o '[0-9a-fx.]*\.e[a-d]x bit [0-9]*' fits-ab | sort > named
diff expected named || fail "fits A B names other bits (>) than those hostb lacks (<)"
grep -q "lacks $(wc -l < expected) feature bit" fits-ab || fail "fits A B counts other than $(wc -l < expected) bits"

rc=0
"$xenadm_bin" cpuid fits b.txt a.txt > fits-ba 2>&1 || rc=$?
cat fits-ba
[ "$rc" = 0 ] && grep -q '^yes' fits-ba || fail "xenadm cpuid fits B A exited $rc, expected 0 (yes)"

# Xen's PV policies: leaf 7.0 ebx of the PV Default policy, hosta's strictly more than hostb's.
pv7() { awk '/PV Default policy/ { p = 1 } p && $1 == "00000007:00000000" { split($3, r, ":"); print r[2]; exit }' "$1"; }
pa=$(pv7 a.policy) pb=$(pv7 b.policy)
[ -n "$pa" ] && [ -n "$pb" ] || fail "no PV Default leaf 7.0 in xen-cpuid -p (hosta '$pa', hostb '$pb')"
echo "xen-cpuid -p, PV Default leaf 7.0 ebx: hosta $pa, hostb $pb"
(( (0x$pb & ~0x$pa) == 0 && 0x$pa != 0x$pb )) || fail "hostb's PV policy leaf 7.0 ebx $pb is not a strict subset of hosta's $pa"
