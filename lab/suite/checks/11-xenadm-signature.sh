# xenadm status, inside dom0, names the hypervisor it runs under: XenVMMXenVMM, which is what
# Xen answers for CPUID leaf 0x40000000 (read here with the stock tool through dom0's kernel,
# `cpuid -k`, which asks Xen). A plain CPUID instruction in PV user space only reaches Xen when
# the CPU has CPUID faulting; QEMU TCG has none, like AMD CPUs before Zen 3, so a tool that
# runs CPUID directly sees the CPU's raw answer (here QEMU's TCGTCGTCGTCG) instead.
# shellcheck source=lab/suite/lib.sh
. "$LAB_SUITE_LIB"

# "566e6558" -> "XenV" (a register's bytes, little-endian).
reg_text() {
    local v=$((16#$1)) i
    for i in 0 8 16 24; do printf '%b' "\\x$(printf %02x $(((v >> i) & 0xff)))"; done
}
signature() { # CPUID dump lines on stdin: leaf 0x40000000's ebx, ecx, edx as text
    local b c d
    read -r b c d < <(awk '$1 == "0x40000000" && $2 == "0x00:" {
        for (i = 4; i <= 6; i++) { sub(/.*=0x/, "", $i) } print $4, $5, $6; exit }') || true
    [ -n "$d" ] || { echo "(no leaf 0x40000000)"; return; }
    echo "$(reg_text "$b")$(reg_text "$c")$(reg_text "$d")"
}
modprobe cpuid
xen_view=$(taskset -c 0 cpuid -k -1r | signature)
raw_view=$(taskset -c 0 cpuid -1r | signature)
echo "cpuid -k (Xen's answer): $xen_view; cpuid (raw instruction): $raw_view"
[ "$xen_view" = XenVMMXenVMM ] || fail "cpuid -k says $xen_view: not a Xen dom0?"

json=$(must xenadm status --json)
ours=$(jq -r .cpu.hypervisor_signature <<< "$json")
[ "$ours" = XenVMMXenVMM ] ||
    fail "cpu.hypervisor_signature is $ours, want XenVMMXenVMM (Xen's answer; '$raw_view' is the raw CPUID of a CPU without CPUID faulting: in a PV domain, ask Xen, e.g. the forced-emulation prefix or /dev/cpu/N/cpuid)"
