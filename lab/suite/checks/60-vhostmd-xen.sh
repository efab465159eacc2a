# vhostmd on real Xen: our daemon in dom0 lists the domains through xen-core (libxenstat),
# writes the metrics disk, the disk is attached read-only to a running PV guest with
# `xl block-attach`, and our vm-dump-metrics inside the guest finds it by probing /sys/block and
# prints the host metrics and that guest's own metrics.
# shellcheck source=lab/suite/lib.sh
. "$LAB_SUITE_LIB"
name=labvhm1
disk=/dev/shm/vhostmd-lab0
trap 'xl destroy "$name" >/dev/null 2>&1 || true; [ -f pid ] && kill "$(cat pid)" 2>/dev/null || true' EXIT

# Upstream's default metric set on built-in collectors (the repository's default config), plus
# the per-VM memory, with a 2 s period and the disk transport only.
sed -e "s|<path>/dev/shm/vhostmd0</path>|<path>$disk</path>|" \
    -e 's|<update_period>5</update_period>|<update_period>2</update_period>|' \
    -e '/<transport>virtio<\/transport>/d' \
    -e 's|</metrics>|<metric type="uint64" context="vm" unit="KiB"><name>UsedMemory</name><action>@builtin</action></metric></metrics>|' \
    /mnt/work/vhostmd/contrib/vhostmd.conf > vhostmd.conf
# Its DOCTYPE names vhostmd.dtd, which must be next to it (as upstream, vhostmd refuses otherwise).
cp /mnt/work/vhostmd/contrib/vhostmd.dtd .
must vhostmd --check-config vhostmd.conf
vhostmd -d -f vhostmd.conf -p "$PWD/pid" --vm-source xen > vhostmd.log 2>&1 &
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
    grep -q "DOMU-CMD: .*context='vm' id='$domid'.*<name>UsedMemory</name>" "$log"; }
wait_until 90 seen || { tail -n 30 "$log"; cat vhostmd.log; fail "the guest did not print the host's and its own metrics"; }
grep "DOMU-CMD: .*context='vm' id='$domid'" "$log" | tail -n 2
# The guest's memory as the guest reads it equals what Xen reports for it (KiB).
mem=$(grep "DOMU-CMD: .*context='vm' id='$domid'.*<name>UsedMemory</name>" "$log" | tail -n 1 |
    sed -n 's/.*<value>\([0-9]*\).*/\1/p')
xl_mem=$(xl list "$name" | awk 'NR == 2 { print $3 * 1024 }')
echo "UsedMemory in the guest: $mem KiB; xl list: $xl_mem KiB"
[ -n "$mem" ] && [ "$mem" -gt 0 ] || fail "no UsedMemory value"
diff=$((mem > xl_mem ? mem - xl_mem : xl_mem - mem))
[ "$diff" -le 1024 ] || fail "UsedMemory $mem KiB differs from xl list's $xl_mem KiB by more than 1 MiB"
kill "$(cat pid)"
wait_until 10 test ! -e pid || fail "vhostmd left its pid file after SIGTERM"
