# xenadm status, inside dom0, reports the Xen host as the stock tools see it: role dom0, a
# hypervisor present, the same version as `xl info`, and (through the Xen libraries) as many
# domains as `xl list`. (The signature: 11-xenadm-signature.)
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

# Through the Xen libraries: the same hypervisor version and as many domains as `xl list`.
[ "$(field .xen.host.xen_version)" = "$full" ] ||
    fail "xen.host.xen_version $(field .xen.host.xen_version), xl info $full (host_error: $(field .xen.host_error))"
domains=$(xl list | awk 'NR > 1' | wc -l)
[ "$(field .xen.host.domains)" = "$domains" ] ||
    fail "xen.host.domains $(field .xen.host.domains), xl list shows $domains"
grep -q "domains  *$domains: " <<< "$text" || fail "text output lacks 'domains $domains: ...': $text"
