# shellcheck shell=bash
# Helpers for pair scenarios (lab/pair-suite/checks/*.sh), sourced as `. "$PAIR_SUITE_LIB"`.
# A scenario runs ON THE HOST (not in a dom0) with `set -euo pipefail`, cwd a fresh scratch
# folder, and drives both hosts with `on a ...` / `on b ...`. It ends like a lab suite check:
#   exit 0              passed
#   fail "WHY"          failed (exit 1); so does any other non-zero exit or a crash
#   skip "REASON"       a documented missing capability (exit 77), e.g. need_shadow_paging
# When a host itself fails (QEMU ended, dom0 stopped answering, a command outlived
# PAIR_EXEC_TIMEOUT), `on` says so, marks the run as a lab failure and exits 125: the runner
# then stops the suite with status 125. Everything a scenario prints is shown under its FAIL.
# Hosts are named a or b (also hosta, hostb); in dom0 they are hosta (10.0.0.1) and hostb
# (10.0.0.2), and `ssh hostb`, `xl migrate GUEST hostb` work from hosta (and back).
# shellcheck source=lab/lib/pair.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/pair.sh"

: "${PAIR_DIR:?PAIR_DIR is not set: run scenarios through lab/pair-suite/run}"
# Seconds one `on` command may run before the host counts as failed.
: "${PAIR_EXEC_TIMEOUT:=600}"
# A TERM (the runner's per-scenario timeout) still runs the scenario's EXIT trap (cleanup).
trap 'exit 143' TERM

fail() {
    echo "why: $*"
    exit 1
}

skip() {
    echo "skip: $*"
    exit 77
}

# Runs a command in HOST's dom0 (cwd the workspace, staged binaries on PATH) and returns its
# exit status; stdout and stderr come back. One argument is a shell command line, several the
# words. A lab failure ends the scenario with 125 (also from inside $(...)).
on() {
    local host rc=0
    host=$(pair_host "$1")
    shift
    pair_exec "$PAIR_DIR" "$host" "$PAIR_EXEC_TIMEOUT" "$@" || rc=$?
    if [ "$rc" = "$LAB_FAILED" ]; then
        echo "lab failed on $host (see above; serial log $PAIR_DIR/$host/serial.log)" >&2
        [ -z "${PAIR_LAB_FAILED:-}" ] || echo "$host" >> "$PAIR_LAB_FAILED"
        exit "$LAB_FAILED"
    fi
    return "$rc"
}
on_a() { on a "$@"; }
on_b() { on b "$@"; }

# Runs "$@" and fails the scenario, naming the command and its output, when it exits non-zero;
# prints the output otherwise. E.g. must on a xl list.
must() {
    local out rc=0
    out=$("$@" 2>&1) || rc=$?
    [ "$rc" != "$LAB_FAILED" ] || { printf '%s\n' "$out"; exit "$LAB_FAILED"; }
    [ "$rc" = 0 ] || { printf '%s\n' "$out"; fail "'$*' exited $rc"; }
    printf '%s\n' "$out"
}

# Waits up to SECONDS for a command to succeed: wait_until SECONDS COMMAND...
wait_until() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 1
    done
}

# PV live migration needs shadow paging in the hypervisor, on both hosts.
need_shadow_paging() {
    local host caps
    for host in a b; do
        caps=$(on "$host" "xl info | sed -n 's/^virt_caps *: //p'")
        [[ $caps == *shadow* ]] || skip "needs shadow paging (host$host xl info virt_caps: $caps)"
    done
}

# Domain id of a guest by name on HOST; fails (status 1) when it is not there.
domid_of() {
    on "$1" "xl domid '$2'" 2>/dev/null
}

# xl's state letters of a guest on HOST (e.g. -b----), empty when it is not there.
guest_state() {
    on "$1" "xl list '$2' 2>/dev/null | awk 'NR == 2 { print \$5 }'" || true
}

# Alive on HOST: running (r), blocked (b) or runnable ("------": waiting for a CPU, e.g. a
# busy guest parked by its cap), and not paused, shut down (a suspended guest), crashed or
# dying.
guest_runs() {
    local state
    state=$(guest_state "$1" "$2")
    [[ $state =~ ^[-rb]{6}$ ]]
}

# A PV guest on HOST: guest_create HOST NAME [lab/pair-dom0/guest create options...]
# (--ip, --peer, --disk-rw, --disk-ro, --initrd, --extra, --cfg, --mem, --no-net).
guest_create() {
    local host=$1
    shift
    on "$host" lab/pair-dom0/guest create "$@"
}

# Waits on HOST until the guest's console has a line matching REGEX (grep -E); fails at once
# when it crashed or is gone there. guest_wait HOST NAME REGEX [SECONDS (default 60)]
guest_wait() {
    local t0=$SECONDS rc=0
    on "$1" lab/pair-dom0/guest wait "$2" "$3" "${4:-60}" || rc=$?
    echo "$(pair_host "$1"): waited $((SECONDS - t0)) s for $2's '$3' (status $rc)"
    return "$rc"
}

# The guest's console log on HOST (after a migration, the log of its arrival there), without
# the console's carriage returns (xenconsoled logs the tty's CR LF line ends).
guest_log() {
    on "$1" "tr -d '\\r' < \"\$(lab/pair-dom0/guest log '$2')\""
}

# The guest initramfs whose command reports CPU flags and a disk counter every
# xenlab.cmd_every ticks (lab/pair-dom0/guest-cmd); made once per host, prints its path there.
# It is the image's default guest initramfs followed by a second cpio archive that adds
# /xenlab/cmd (the kernel unpacks both), in one gzip stream (libxc's size probe reads only one):
# a second or two instead of a rebuild (~20 s).
pair_initrd() {
    local out=/var/tmp/pair-guest.gz
    on "$1" "[ -s $out ] || { d=\$(mktemp -d) && mkdir \$d/xenlab && cp lab/pair-dom0/guest-cmd \$d/xenlab/cmd &&
        { zcat /var/lib/xenlab/guest-initrd.gz &&
          (cd \$d && printf 'xenlab\\nxenlab/cmd\\n' | cpio -o -H newc --quiet -R 0:0); } | gzip -1 > $out.tmp &&
        mv $out.tmp $out && rm -rf \$d; }" >&2
    echo "$out"
}

# The last CPU flag list the guest printed on HOST (from lab/pair-dom0/guest-cmd), one a line.
guest_flags() {
    guest_log "$1" "$2" | sed -n 's/^DOMU-CMD: flags://p' | tail -n 1 | tr ' ' '\n' | sed '/^$/d' | sort -u
}

# dom0's own CPU flags on HOST (its kernel's view through Xen), one a line.
host_flags() {
    on "$1" "grep -m1 '^flags' /proc/cpuinfo" | cut -d: -f2 | tr ' ' '\n' | sed '/^$/d' | sort -u
}

# `xl migrate -e NAME hostTO` run on FROM; prints xl's output and returns its status. A stale
# console log of an earlier arrival on TO is removed first. (-e: no monitoring child of xl,
# see lab/README.md "Known problems": -e only leaves out that child, the transfer is the same.)
migrate() {
    local from to name=$2
    from=$(pair_host "$1")
    to=$(pair_host "$3")
    on "$to" "rm -f /var/log/xen/console/guest-$name--incoming.log"
    local t0=$SECONDS rc=0
    on "$from" "xl migrate -e '$name' $to" || rc=$?
    echo "xl migrate $name $from -> $to: status $rc after $((SECONDS - t0)) s"
    return "$rc"
}

# Destroys the named guests on both hosts when the scenario ends, however it ends (also the
# names xl gives a half-migrated guest). cleanup_guests NAME...
cleanup_guests() {
    _pair_cleanup_names+=("$@")
    trap _pair_cleanup EXIT
}
_pair_cleanup_names=()
_pair_cleanup() {
    local host name cmd=""
    for name in "${_pair_cleanup_names[@]}"; do
        cmd+="for d in '$name' '$name--incoming' '$name--migratedaway'; do xl destroy \"\$d\" > /dev/null 2>&1 || true; done; "
    done
    for host in hosta hostb; do
        pair_exec "$PAIR_DIR" "$host" 120 "$cmd" || true
    done
}

# The xenadm staged on HOST, by its full path (staged outside the PATH ssh gives a command, so
# a preflight probe or receiver run over ssh names it in full).
xenadm_path() {
    on "$1" 'command -v xenadm'
}

# `xenadm --json migrate --check NAME hostTO` run on FROM with the target's xenadm REMOTE;
# writes one line per row, "NAME<TAB>VERDICT<TAB>DETAIL<TAB>FIX", to OUT (and shows it) and
# returns --check's exit status (0 can move, 1 cannot, 2 not fully checked).
# preflight FROM NAME TO REMOTE OUT
preflight() {
    local from=$1 name=$2 to remote=$4 out=$5 rc=0
    to=$(pair_host "$3")
    on "$from" "xenadm --json migrate --check '$name' $to --remote-xenadm '$remote' > /tmp/preflight.json; rc=\$?
        jq -r '.rows[] | [.name, .verdict, .detail, .fix] | @tsv' /tmp/preflight.json; exit \$rc" > "$out" || rc=$?
    echo "xenadm migrate --check $name $to on $(pair_host "$from"): status $rc"
    sed 's/^/  /' "$out"
    return "$rc"
}

# A field (verdict, detail or fix) of a row of preflight's OUT: row OUT NAME FIELD
row() {
    awk -F'\t' -v n="$2" -v f="$3" '$1 == n { print (f == "verdict" ? $2 : f == "detail" ? $3 : $4); exit }' "$1"
}

# `xenadm migrate -e NAME hostTO [OPTIONS...]` run on FROM (OPTIONS are dom0 shell words, e.g.
# --receive-command "'xl migrate-receive'"); prints xenadm's output and returns its status.
xmigrate() {
    local from to name=$2 rc=0 t0=$SECONDS
    from=$(pair_host "$1")
    to=$(pair_host "$3")
    shift 3
    on "$to" "rm -f /var/log/xen/console/guest-$name--incoming.log"
    on "$from" "xenadm migrate -e $* '$name' $to" || rc=$?
    echo "xenadm migrate $name $from -> $to: status $rc after $((SECONDS - t0)) s"
    return "$rc"
}
