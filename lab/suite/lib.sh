# shellcheck shell=bash
# Helpers for lab checks (lab/suite/checks/*.sh), sourced as `. "$LAB_SUITE_LIB"`. A check runs
# in dom0 as root with `set -euo pipefail`, cwd a fresh scratch folder, the staged binaries
# (xenadm, ...) on PATH. It ends in one of three ways:
#   exit 0              the check passed
#   fail "WHY"          the check failed (exit 1); so does any other non-zero exit or a crash
#   skip "REASON"       it cannot run here for a documented reason (exit 77, see README):
#                       call it only after testing for that reason, e.g. need_shadow_paging
# Everything a check prints is shown under its FAIL line when it fails.

fail() {
    echo "why: $*"
    exit 1
}

skip() {
    echo "skip: $*"
    exit 77
}

# PV live migration needs a hypervisor built with shadow paging (Debian's 4.17.7 security
# build lacks it; lab/build-image picks one that has it when it can).
need_shadow_paging() {
    xl info | grep -q '^virt_caps.*shadow' ||
        skip "needs shadow paging (xl info virt_caps: $(xl info | sed -n 's/^virt_caps *: //p'))"
}

# `xl info` field, e.g. xl_info xen_version.
xl_info() {
    xl info | sed -n "s/^$1 *: //p"
}

# Runs "$@" and fails the check, naming the command and its output, when it exits non-zero.
must() {
    local out rc=0
    out=$("$@" 2>&1) || rc=$?
    [ "$rc" = 0 ] || { printf '%s\n' "$out"; fail "'$*' exited $rc"; }
    printf '%s\n' "$out"
}

# Domain id of a running domain by name (ids change on save/restore/migrate: never reuse one).
domid_of() {
    xl domid "$1" 2>/dev/null
}

# Waits up to SECONDS for a command to succeed: wait_until SECONDS COMMAND...
wait_until() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.5
    done
}
