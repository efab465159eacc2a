# Online resize on real Xen, as the guide does it: a running PV guest has a writable raw image as
# xvdb (attached with `xl block-attach`: xl's block script puts it on a loop device), and
# `xenadm image grow IMG --by 16M` grows the file, refreshes the loop device, finds the guest in
# xenstore (backend/vbd: params, physical-device) and waits until blkback offers the new size.
# The guest's own /sys/block/xvdb/size must show it within seconds, and xenadm's report (JSON and
# text) must name the guest and xvdb. qdisk (a disk QEMU serves) is not testable here: the dom0
# image has no QEMU (see lab/README.md).
# shellcheck source=lab/suite/lib.sh
. "$LAB_SUITE_LIB"
name=labgrow1
img=$PWD/grow.img
trap 'xl destroy "$name" >/dev/null 2>&1 || true' EXIT

truncate -s 64M "$img"
printf 'xenlab grow test\n' | dd of="$img" conv=notrunc status=none
# The guest prints the size of each of its xvd disks every tick (3 s).
cat > cmd.sh <<'CMD'
for d in /sys/block/xvd*; do [ -e "$d/size" ] && echo "size ${d##*/} $(cat "$d/size")"; done
CMD
must xenlab-guest-initramfs --cmd cmd.sh initrd.gz
must xenlab-guest create "$name" --initrd "$PWD/initrd.gz" --no-net --extra xenlab.cmd_every=1
xenlab-guest wait "$name" 'DOMU: alive' 120 || fail "guest never printed 'DOMU: alive'"
domid=$(domid_of "$name")
must xl block-attach "$name" "format=raw,vdev=xvdb,access=rw,target=$img"
log=$(xenlab-guest log "$name")
# (the console log's lines end in \r\n)
guest_sectors() { grep 'DOMU-CMD: size xvdb ' "$log" | tail -n 1 | tr -d '\r' | awk '{ print $4 }'; }
guest_at() { [ "$(guest_sectors)" = "$1" ]; }
wait_until 60 guest_at 131072 ||
    { tail -n 20 "$log"; fail "the guest never showed xvdb at 64 MiB (131072 sectors)"; }
losetup -j "$img"
loop=$(losetup -j "$img" | cut -d: -f1)
[ -n "$loop" ] || fail "xl's block script put $img on no loop device"
be=/local/domain/0/backend/vbd/$domid
echo "backend: $(xenstore-ls "$be" | grep -E '^ *(params|physical-device|sectors|dev) ' | tr -s ' ' | tr '\n' ';')"

# Grow by 16 MiB while the guest runs: JSON report.
must xenadm image grow "$img" --by 16M --json > grow.json
t0=$SECONDS
jq -c '.guests' grow.json
new=$((80 * 1024 * 1024))
[ "$(stat -c %s "$img")" = "$new" ] || fail "the image is $(stat -c %s "$img") bytes, not $new"
[ "$(blockdev --getsize64 "$loop")" = "$new" ] || fail "$loop is $(blockdev --getsize64 "$loop") bytes, not $new"
jq -e --arg n "$name" --argjson d "$domid" --argjson b "$new" \
    '[.guests.disks[] | select(.domain == $n and .domid == $d and .vdev == "xvdb" and .backend == "vbd"
      and .outcome.status == "confirmed" and .guest_bytes == $b)] | length == 1' grow.json >/dev/null ||
    { cat grow.json; fail "the report does not name $name's xvdb as confirmed at $new bytes"; }
wait_until 30 guest_at 163840 ||
    { tail -n 20 "$log"; fail "the guest's /sys/block/xvdb/size never showed 163840 sectors (80 MiB)"; }
echo "the guest saw 80 MiB $((SECONDS - t0)) s after xenadm returned"

# Again, text report: the guest and its device are named, with what it now sees.
must xenadm image grow "$img" --by 16M > grow.txt
cat grow.txt
grep -E "$name.*xvdb|xvdb.*$name" grow.txt | grep -q '96 MiB' ||
    fail "the text report does not name $name's xvdb at 96 MiB"
wait_until 30 guest_at 196608 ||
    { tail -n 20 "$log"; fail "the guest never showed 196608 sectors (96 MiB)"; }
# The guest still reads its data.
grep -q 'xvdb: xenlab grow test' "$log" || fail "the guest does not read the image's first line"
