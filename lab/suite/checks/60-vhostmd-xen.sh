# vhostmd on real Xen: our daemon in dom0 (default VM source: Xen in a dom0) lists the domains
# through xen-core (libxenstat) and takes the host's figures from the hypervisor (physinfo), writes
# the metrics disk with the shipped SAP metric set (vhostmd/contrib/vhostmd-sap.conf) plus
# upstream's TotalPhyMem/NumCPUs and the per-VM UsedMemory, the disk is attached read-only to a
# running PV guest with `xl block-attach` as the guide does, and our vm-dump-metrics inside the
# guest finds it by probing /sys/block. What the guest reads must be the host's (xl info's
# total_memory and nr_cpus, not dom0's 1 GiB and 1 vCPU) and its own domain's (xl list's).
# shellcheck source=lab/suite/lib.sh
. "$LAB_SUITE_LIB"
name=labvhm1
disk=/dev/shm/vhostmd-lab0
trap 'xl destroy "$name" >/dev/null 2>&1 || true; [ -f pid ] && kill "$(cat pid)" 2>/dev/null || true' EXIT

# The SAP set as shipped, with a 2 s period and the disk transport only, plus three metrics to
# compare with xl directly.
extra='<metric type="uint64" context="host" unit="MiB"><name>TotalPhyMem</name><action>@builtin</action></metric>'
extra+='<metric type="uint32" context="host"><name>NumCPUs</name><action>@builtin</action></metric>'
extra+='<metric type="uint64" context="vm" unit="KiB"><name>UsedMemory</name><action>@builtin</action></metric>'
sed -e "s|<path>/dev/shm/vhostmd0</path>|<path>$disk</path>|" \
    -e 's|<update_period>5</update_period>|<update_period>2</update_period>|' \
    -e '/<transport>virtio<\/transport>/d' \
    -e "s|</metrics>|$extra</metrics>|" \
    /mnt/work/vhostmd/contrib/vhostmd-sap.conf > vhostmd.conf
# Its DOCTYPE names vhostmd.dtd, which must be next to it (as upstream, vhostmd refuses otherwise).
cp /mnt/work/vhostmd/contrib/vhostmd.dtd .
must vhostmd --check-config vhostmd.conf
vhostmd -d -f vhostmd.conf -p "$PWD/pid" > vhostmd.log 2>&1 &
has_disk() { [ -s "$disk" ] && grep -q 'xl block-attach' vhostmd.log; }
wait_until 30 has_disk || { cat vhostmd.log; fail "vhostmd wrote no disk in 30 s"; }
grep 'xl block-attach' vhostmd.log
# dom0's own view of the disk first: Domain-0 is listed with the Xen source.
must vm-dump-metrics --disk "$disk" > dom0-view.xml
grep -q "context='vm' id='0'" dom0-view.xml || { cat dom0-view.xml; fail "Domain-0 missing from the metrics"; }

# The guest runs our vm-dump-metrics every 2 ticks; one metric per console line.
cat > cmd.sh <<'CMD'
vm-dump-metrics -b | tr -d '\n' | sed "s/<metric /\n<metric /g"; echo
CMD
must xenlab-guest-initramfs --bin "$(command -v vm-dump-metrics)" --cmd cmd.sh initrd.gz
must xenlab-guest create "$name" --initrd "$PWD/initrd.gz" --no-net --extra xenlab.cmd_every=2
xenlab-guest wait "$name" 'DOMU: alive' 120 || fail "guest never printed 'DOMU: alive'"
domid=$(domid_of "$name")
must xl block-attach "$name" "$disk,raw,xvdc,ro"
log=$(xenlab-guest log "$name")

# Both the host metrics and this guest's own metrics, read inside the guest.
host_name=$(hostname)
seen() { grep -q "DOMU-CMD: .*<name>HostName</name>.*<value>$host_name</value>" "$log" &&
    grep -q "DOMU-CMD: .*context='vm' id='$domid'.*<name>ResourceMemoryLimit</name>" "$log"; }
wait_until 90 seen || { tail -n 30 "$log"; cat vhostmd.log; fail "the guest did not print the host's and its own metrics"; }

# The value of a metric in the guest's latest dump: gval NAME host|vm
gval() {
    local ctx="context='host'"
    [ "$2" = vm ] && ctx="context='vm' id='$domid'"
    grep "DOMU-CMD: <metric [^>]*$ctx[^>]*>.*<name>$1</name>" "$log" | tail -n 1 |
        sed -n 's/.*<value>\([^<]*\)<\/value>.*/\1/p'
}
echo "--- the guest's latest metrics:"
for n in HostName HostSystemInfo VirtualizationVendor VirtProductInfo NumberOfPhysicalCPUs \
    TotalCPUTime FreePhysicalMemory FreeVirtualMemory UsedVirtualMemory \
    MemoryAllocatedToVirtualServers PagedInMemory PagedOutMemory Time TotalPhyMem NumCPUs; do
    v=$(gval "$n" host)
    echo "host $n = $v"
    [ -n "$v" ] || fail "host metric $n missing in the guest"
done
for n in TotalCPUTime ResourceProcessorLimit PhysicalMemoryAllocatedToVirtualSystem \
    ResourceMemoryLimit UsedMemory; do
    v=$(gval "$n" vm)
    echo "vm $n = $v"
    [ -n "$v" ] || fail "vm metric $n of domain $domid missing in the guest"
done

# The host's figures are the hypervisor's, not dom0's.
xl_cpus=$(xl_info nr_cpus)
xl_total=$(xl_info total_memory)
xl_free=$(xl_info free_memory)
dom0_cpus=$(nproc)
dom0_mib=$(awk '/^MemTotal:/ { print int($2 / 1024) }' /proc/meminfo)
echo "xl info: nr_cpus $xl_cpus, total_memory $xl_total MiB, free_memory $xl_free MiB; dom0: $dom0_cpus CPUs, $dom0_mib MiB"
[ "$xl_cpus" != "$dom0_cpus" ] || fail "the lab's host and dom0 have the same CPU count ($xl_cpus): the check cannot tell them apart"
for n in NumCPUs NumberOfPhysicalCPUs; do
    [ "$(gval "$n" host)" = "$xl_cpus" ] || fail "$n in the guest is $(gval "$n" host), xl info nr_cpus $xl_cpus"
done
[ "$(gval TotalPhyMem host)" = "$xl_total" ] || fail "TotalPhyMem in the guest is $(gval TotalPhyMem host) MiB, xl info total_memory $xl_total MiB"
# Free memory moves a little (the metrics are up to one update old): within 8 MiB.
free=$(gval FreePhysicalMemory host)
[ $((free > xl_free ? free - xl_free : xl_free - free)) -le 8 ] ||
    fail "FreePhysicalMemory in the guest is $free MiB, xl info free_memory $xl_free MiB"
used=$(gval UsedVirtualMemory host)
[ $((used + free)) -le $((xl_total + 1)) ] && [ $((used + free)) -ge $((xl_total - 1)) ] ||
    fail "UsedVirtualMemory $used + FreePhysicalMemory $free MiB is not total_memory $xl_total MiB"
# Memory of the guests: every domain but Domain-0, as xl list counts it (MiB).
xl_guests=$(xl list | awk 'NR > 1 && $2 != 0 { s += $3 } END { print s + 0 }')
[ "$(gval MemoryAllocatedToVirtualServers host)" = "$xl_guests" ] ||
    fail "MemoryAllocatedToVirtualServers is $(gval MemoryAllocatedToVirtualServers host) MiB, xl list's guests hold $xl_guests MiB"
[ "$(gval VirtualizationVendor host)" = "Xen Project" ] || fail "VirtualizationVendor is $(gval VirtualizationVendor host)"
[ "$(gval VirtProductInfo host)" = "Xen $(xl_info xen_version)" ] ||
    fail "VirtProductInfo is $(gval VirtProductInfo host), xl info xen_version $(xl_info xen_version)"

# The guest's own metrics are its domain's, as xl list and xentop report them.
read -r xl_mem xl_vcpus xl_time < <(xl list "$name" | awk 'NR == 2 { print $3, $4, $6 }')
maxmem_k=$(xentop -b -i 1 | awk -v n="$name" '$1 == n { print $7 }')
echo "xl list $name: Mem $xl_mem MiB, VCPUs $xl_vcpus, Time(s) $xl_time; xentop MAXMEM(k) $maxmem_k"
[ "$(gval PhysicalMemoryAllocatedToVirtualSystem vm)" = "$xl_mem" ] ||
    fail "PhysicalMemoryAllocatedToVirtualSystem is $(gval PhysicalMemoryAllocatedToVirtualSystem vm) MiB, xl list Mem $xl_mem"
[ "$(gval ResourceProcessorLimit vm)" = "$xl_vcpus" ] ||
    fail "ResourceProcessorLimit is $(gval ResourceProcessorLimit vm), xl list VCPUs $xl_vcpus"
[ "$(gval ResourceMemoryLimit vm)" = "$((maxmem_k / 1024))" ] ||
    fail "ResourceMemoryLimit is $(gval ResourceMemoryLimit vm) MiB, xentop MAXMEM $maxmem_k KiB"
mem=$(gval UsedMemory vm)
diff=$((mem - xl_mem * 1024))
[ "${diff#-}" -le 1024 ] || fail "UsedMemory $mem KiB differs from xl list's $xl_mem MiB by more than 1 MiB"
# CPU time only grows: what the guest read (up to one update and a dump old) is at most xl's
# now, and not far behind.
awk -v g="$(gval TotalCPUTime vm)" -v x="$xl_time" 'BEGIN { exit !(g > 0 && g <= x + 0.5 && x - g < 60) }' ||
    fail "TotalCPUTime in the guest $(gval TotalCPUTime vm) s, xl list Time(s) $xl_time"
xl_all=$(xl list | awk 'NR > 1 { s += $6 } END { print s }')
awk -v g="$(gval TotalCPUTime host)" -v x="$xl_all" 'BEGIN { exit !(g > 0 && g <= x + 1 && x - g < 120) }' ||
    fail "host TotalCPUTime in the guest $(gval TotalCPUTime host) s, all domains' xl list Time(s) $xl_all"

kill "$(cat pid)"
wait_until 10 test ! -e pid || fail "vhostmd left its pid file after SIGTERM"
