# xenadm status, inside dom0, reports the Xen host as the stock tools see it: role dom0, a
# hypervisor present, and the same version as `xl info`. (The signature: 11-xenadm-signature.)
# shellcheck source=lab/suite/lib.sh
. "$LAB_SUITE_LIB"

json=$(must xenadm status --json)
echo "$json"
field() { jq -r "$1" <<< "$json"; }

[ "$(field .xen.role)" = dom0 ] || fail "xen.role is $(field .xen.role), want dom0"
[ "$(field .cpu.under_hypervisor)" = true ] || fail "cpu.under_hypervisor is $(field .cpu.under_hypervisor)"

major=$(xl_info xen_major) minor=$(xl_info xen_minor) full=$(xl_info xen_version)
version=$(field .xen.version)
[[ $version == "$major.$minor"* ]] ||
    fail "xen.version $version does not start with xl info's $major.$minor"
[ "$version" = "$full" ] || fail "xen.version $version, xl info xen_version $full"

# The text form says the same.
text=$(must xenadm status)
grep -q 'Xen dom0' <<< "$text" || fail "text output lacks 'Xen dom0': $text"
