# Scenario 2, xl's unsafe success: a PV guest started on hosta WITHOUT a CPUID mask is moved
# with `xl migrate GUEST hostb`; xl reports success (Xen 4.17 does not refuse a guest whose CPU
# policy the target lacks), and the guest's own /proc/cpuinfo on hostb still lists features
# hostb's CPU lacks. "hostb lacks" = flags in hosta's dom0 /proc/cpuinfo and not in hostb's
# (both are Xen's view of each CPU). The guest reads its flags with a command its initramfs runs
# every other tick (lab/pair-dom0/guest-cmd).
# Before xl moves it, xenadm's preflight (issue 15) predicts the mismatch xl does not see: over
# real ssh `xenadm migrate --check GUEST hostb` fails the cpu row naming features hostb lacks and
# prints the `cpuid =` fix, and a real `xenadm migrate GUEST hostb` refuses before any byte moves
# (the guest still runs on hosta under the same domain id, nothing appears on hostb).
# shellcheck source=lab/pair-suite/lib.sh
. "$PAIR_SUITE_LIB"
need_shadow_paging
name=pairplain
cleanup_guests "$name"

comm -23 <(host_flags a) <(host_flags b) > lacking
[ -s lacking ] || fail "hosta's dom0 lists no CPU flag that hostb's lacks: no CPU difference to show"
echo "hostb's dom0 lacks: $(tr '\n' ' ' < lacking)"

initrd=$(pair_initrd a)
must guest_create a "$name" --mem 96 --ip 10.0.0.21 --initrd "$initrd" --extra xenlab.cmd_every=2
guest_wait a "$name" '^DOMU-CMD: flags:' 400 || fail "guest printed no CPU flags on hosta"
guest_flags a "$name" > flags-a
comm -12 flags-a lacking > listed-a
[ -s listed-a ] || fail "the unmasked guest lists none of hostb's missing features on hosta: nothing to show"
echo "unmasked guest on hosta lists: $(tr '\n' ' ' < listed-a)"

# xenadm's preflight, over ssh to hostb's xenadm.
remote=$(xenadm_path b) || fail "no xenadm staged on hostb"
rc=0
preflight a "$name" b "$remote" check || rc=$?
[ "$rc" = 1 ] || fail "xenadm migrate --check of the unmasked guest exited $rc, expected 1 (cannot move)"
[ "$(row check cpu verdict)" = fail ] || fail "--check's cpu row is '$(row check cpu verdict)', expected fail"
detail=$(row check cpu detail)
named=0
while read -r flag; do
    # /proc/cpuinfo's sha_ni is cpuid-mask's sha.
    [ "$flag" = sha_ni ] && flag=sha
    if grep -qw -- "$flag" <<< "$detail"; then named=$((named + 1)); fi
done < lacking
[ "$named" -gt 0 ] || fail "the cpu row names none of hostb's missing features: $detail"
row check cpu fix | grep -q 'cpuid = "host,' || fail "the cpu row's fix has no cpuid= line: $(row check cpu fix)"
echo "PREDICTED: --check fails the cpu row naming $named of hostb's missing features: $detail"
before=$(domid_of a "$name")
rc=0
xmigrate a "$name" b --remote-xenadm "'$remote'" --receive-command "'$remote migrate-receive'" > refused.log 2>&1 || rc=$?
cat refused.log
[ "$rc" = 1 ] || fail "xenadm migrate of the unmasked guest exited $rc, expected 1 (refused, still on hosta)"
grep -q "refused by the preflight: nothing was sent" refused.log || fail "xenadm migrate did not say it refused before sending"
grep -Eq '^cpu +FAIL' refused.log || fail "the refusal does not show the failed cpu row"
[ "$(domid_of a "$name")" = "$before" ] || fail "$name is not on hosta as domain $before after the refusal"
guest_runs a "$name" || fail "$name does not run on hosta after the refusal ($(guest_state a "$name"))"
for n in "$name" "$name--incoming"; do
    ! domid_of b "$n" > /dev/null || fail "$n exists on hostb after a refused migration"
done
echo "REFUSED: xenadm migrate moved nothing; $name runs on hosta as domain $before"

rc=0
migrate a "$name" b > migrate.log 2>&1 || rc=$?
cat migrate.log
[ "$rc" = 0 ] || fail "xl migrate $name hostb exited $rc"
grep -q 'Migration successful' migrate.log || fail "xl did not report 'Migration successful'"
! domid_of a "$name" > /dev/null || fail "$name is still on hosta after a successful migration"
domid_of b "$name" > /dev/null || fail "$name is not on hostb after 'Migration successful'"

# Its first flags report on hostb (the command runs every other tick, ~6 s).
guest_wait b "$name" '^DOMU-CMD: flags:' 240 || fail "guest printed no CPU flags on hostb"
guest_flags b "$name" > flags-b
comm -12 flags-b lacking > listed-b
[ -s listed-b ] || fail "after the move the guest lists none of hostb's missing features (did Xen re-level it?)"
echo "UNSAFE: xl reported success, and on hostb the guest's kernel lists: $(tr '\n' ' ' < listed-b)(hostb's CPU lacks them)"
echo "guest state on hostb: $(guest_state b "$name")"
