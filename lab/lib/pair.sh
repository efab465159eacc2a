# shellcheck shell=bash
# Host side of the lab's pair mode: two Xen hosts, hosta and hostb, each its own QEMU (TCG) with
# its own dom0 as in lab/lib/session.sh, started and stopped together and joined by a virtual
# wire and shared disks. Sourced by lab/pair and lab/pair-suite/run.
# A pair lives in one folder, PAIR:
#   PAIR/hosta/, PAIR/hostb/   one session folder each (serial.log, qemu.log, qemu.cmd, ctrl/)
#   PAIR/wire.sock             the wire: QEMU `-netdev stream` over a unix socket, hosta's QEMU
#                              listens, hostb's connects (and reconnects)
#   PAIR/lun1.img ...          the shared disks: one raw file per "LUN", attached to both QEMUs
#                              (share-rw, no image locking), /dev/vdb, /dev/vdc ... in both dom0s
# Exit status 125 (LAB_FAILED) means the pair itself failed; the message names the host and
# its serial log.
# Two QEMUs on a shared 2-core host get little CPU each: at load average 20 a dom0's agent once
# went 91 s without a heartbeat while the pair was otherwise fine (the single lab's default is 90).
: "${XENLAB_HEARTBEAT_TIMEOUT:=300}"
# shellcheck source=lab/lib/session.sh
. "$(dirname "${BASH_SOURCE[0]}")/session.sh"

# hostb's CPU lacks leaf-7 features hosta has; same vendor on both (see lab/README.md, "Pair
# mode": with vendor=GenuineIntel Xen offers PV guests no AVX, and a masked guest survives B).
: "${XENLAB_PAIR_CPU_A:=max,vendor=GenuineIntel}"
: "${XENLAB_PAIR_CPU_B:=max,vendor=GenuineIntel,-avx2,-bmi2,-adx,-sha-ni}"
# One host core per QEMU, so the pair fits a 2-core machine.
: "${XENLAB_PAIR_ACCEL_OPTS:=thread=single}"
: "${XENLAB_PAIR_LUNS:=2}"
: "${XENLAB_PAIR_LUN_MIB:=64}"
# Seconds until both dom0s must be ready: two boots at once, one core each, on a host others
# share (measured: 165-180 s at load average 13-20, over 300 s at 20+).
: "${XENLAB_PAIR_BOOT_TIMEOUT:=900}"
# Seconds for the wire to carry a ping, once both dom0s have joined it.
: "${XENLAB_PAIR_WIRE_TIMEOUT:=60}"
# For testing the lab's own failure handling only: wire (hostb's QEMU connects to nowhere),
# ssh (hostb's sshd is stopped after boot).
: "${XENLAB_PAIR_FAULT:=}"

PAIR_HOSTS=(hosta hostb)

# hosta|a -> hosta, hostb|b -> hostb; anything else is an error.
pair_host() {
    case $1 in
        a|hosta) echo hosta ;;
        b|hostb) echo hostb ;;
        *) lab_die "unknown pair host '$1' (a, b, hosta or hostb)" ;;
    esac
}

pair_addr() { case $1 in hosta) echo 10.0.0.1 ;; hostb) echo 10.0.0.2 ;; esac; }
pair_mac() { case $1 in hosta) echo 52:54:00:00:00:0a ;; hostb) echo 52:54:00:00:00:0b ;; esac; }
pair_cpu() { case $1 in hosta) echo "$XENLAB_PAIR_CPU_A" ;; hostb) echo "$XENLAB_PAIR_CPU_B" ;; esac; }

pair_alive() {
    local pair=$1 host
    for host in "${PAIR_HOSTS[@]}"; do session_alive "$pair/$host" || return 1; done
}

# Reports a failure of HOST (the serial log's tail, where the whole log is) and returns 125.
pair_fail() {
    local pair=$1 host=$2
    shift 2
    session_fail "$pair/$host" "$host: $*"
}

pair_kill() {
    local pair=$1 host
    for host in "${PAIR_HOSTS[@]}"; do session_kill "$pair/$host"; done
}

# Powers both hosts off (in parallel), killing what does not end within 30 s.
pair_stop() {
    local pair=$1 host
    for host in "${PAIR_HOSTS[@]}"; do session_stop "$pair/$host" & done
    wait
}

# Runs a command in HOST's dom0, like session_exec. Usage: pair_exec PAIR HOST TIMEOUT CMD...
pair_exec() {
    local pair=$1 host
    host=$(pair_host "$2")
    shift 2
    session_exec "$pair/$host" "$@"
}

# The QEMU arguments that make HOST one end of the pair: the wire's NIC and the shared disks.
_pair_qemu_args() {
    local pair=$1 host=$2 lun netdev
    netdev="stream,id=wire,addr.type=unix,addr.path=$pair/wire.sock"
    if [ "$host" = hosta ]; then
        netdev+=",server=on"
    elif [ "$XENLAB_PAIR_FAULT" = wire ]; then
        netdev="stream,id=wire,addr.type=unix,addr.path=$pair/no-wire.sock,server=off,reconnect-ms=500"
    else
        netdev+=",server=off,reconnect-ms=500"
    fi
    SESSION_NET_ARGS=(-netdev "$netdev" -device "virtio-net-pci,netdev=wire,mac=$(pair_mac "$host"),addr=0x0e")
    SESSION_EXTRA_ARGS=()
    for lun in $(seq "$XENLAB_PAIR_LUNS"); do
        # Both QEMUs write the same file through the host's page cache, which keeps them
        # coherent; QEMU's image locking would refuse the second opener. Slots after dom0's own
        # disk (created last by -drive if=virtio, in a lower free slot), so that stays vda.
        SESSION_EXTRA_ARGS+=(-drive "file=$pair/lun$lun.img,format=raw,if=none,id=lun$lun,file.locking=off"
            -device "virtio-blk-pci,drive=lun$lun,share-rw=on,serial=xenlab-lun$lun,addr=$(printf 0x%x $((0x0f + lun)))")
    done
}

# Waits until both dom0s are ready; a host whose QEMU ends or that is not ready in time fails
# the pair (both are killed). Usage: _pair_wait_ready PAIR
_pair_wait_ready() {
    local pair=$1 deadline=$((SECONDS + XENLAB_PAIR_BOOT_TIMEOUT)) host ready
    while :; do
        ready=0
        for host in "${PAIR_HOSTS[@]}"; do
            if [ -f "$pair/$host/ctrl/ready" ]; then
                ready=$((ready + 1))
            elif ! session_alive "$pair/$host"; then
                pair_kill "$pair"
                pair_fail "$pair" "$host" "QEMU ended during boot (status $(cat "$pair/$host/qemu.rc" 2>/dev/null || echo '?'))"
                return
            elif [ $SECONDS -ge $deadline ]; then
                pair_kill "$pair"
                pair_fail "$pair" "$host" "dom0 not ready within XENLAB_PAIR_BOOT_TIMEOUT=${XENLAB_PAIR_BOOT_TIMEOUT}s"
                return
            fi
        done
        [ "$ready" = 2 ] && return 0
        sleep 0.2
    done
}

# Boots the pair into PAIR (emptied first), joins both dom0s to the wire, and checks the wire
# and root ssh both ways. Binaries are staged as session_stage_bins does. On any failure both
# hosts are killed and 125 returned, naming the host and its serial log.
# Usage: pair_boot PAIR LIFETIME
pair_boot() {
    local pair=$1 lifetime=$2 image host lun t0=$SECONDS
    lab_require_host_tools
    image=$("$lab_dir/build-image" --print-dir)
    rm -rf "$pair"
    mkdir -p "$pair"
    for lun in $(seq "$XENLAB_PAIR_LUNS"); do truncate -s "${XENLAB_PAIR_LUN_MIB}M" "$pair/lun$lun.img"; done
    for host in "${PAIR_HOSTS[@]}"; do
        mkdir -p "$pair/$host"
        session_stage_bins "$pair/$host"
        _pair_qemu_args "$pair" "$host"
        lab_log "booting $host (-cpu $(pair_cpu "$host")); serial log: $pair/$host/serial.log"
        XENLAB_CPU=$(pair_cpu "$host") XENLAB_ACCEL_OPTS=$XENLAB_PAIR_ACCEL_OPTS \
            session_boot "$pair/$host" "$image" "$lifetime"
        if [ "$host" = hosta ]; then
            # hostb's QEMU connects to hosta's socket: let hosta's QEMU create it first.
            for _ in $(seq 100); do [ -S "$pair/wire.sock" ] && break; sleep 0.1; done
            [ -S "$pair/wire.sock" ] || { pair_kill "$pair"; pair_fail "$pair" hosta "QEMU did not create the wire's socket $pair/wire.sock"; return; }
        fi
    done
    _pair_wait_ready "$pair" || return
    lab_log "both dom0s ready after $((SECONDS - t0)) s; joining the wire"
    local peer
    for host in "${PAIR_HOSTS[@]}"; do
        pair_exec "$pair" "$host" 60 bash lab/pair-dom0/join "$host" "$(pair_addr hosta)" \
            "$(pair_addr hostb)" "$(pair_mac "$host")" "$XENLAB_PAIR_LUNS" >&2 ||
            { pair_kill "$pair"; pair_fail "$pair" "$host" "could not join dom0 to the wire (lab/pair-dom0/join)"; return; }
    done
    if [ "$XENLAB_PAIR_FAULT" = ssh ]; then
        pair_exec "$pair" hostb 30 'kill $(cat /run/sshd.pid)' >&2 || true
    fi
    # The wire: a ping from each host to the other (hostb's QEMU may still be reconnecting).
    for host in "${PAIR_HOSTS[@]}"; do
        peer=$([ "$host" = hosta ] && echo hostb || echo hosta)
        pair_exec "$pair" "$host" $((XENLAB_PAIR_WIRE_TIMEOUT + 30)) \
            "for i in \$(seq $XENLAB_PAIR_WIRE_TIMEOUT); do busybox ping -c 1 -W 1 $peer > /dev/null && exit 0; done; exit 1" ||
            { pair_kill "$pair"; pair_fail "$pair" "$host" "the wire never came up: $host ($(pair_addr "$host")) got no ping answer from $peer ($(pair_addr "$peer")) in ${XENLAB_PAIR_WIRE_TIMEOUT}s (also read $pair/$peer/serial.log; hostb's QEMU: $pair/hostb/qemu.log)"; return; }
        local got
        got=$(pair_exec "$pair" "$host" 60 "ssh -o BatchMode=yes -o ConnectTimeout=20 $peer hostname" 2>&1) && [ "$got" = "$peer" ] ||
            { pair_kill "$pair"; pair_fail "$pair" "$host" "root ssh from $host to $peer failed (got: ${got:-nothing}; also read $pair/$peer/serial.log)"; return; }
    done
    lab_log "pair ready after $((SECONDS - t0)) s: hosta $(pair_addr hosta), hostb $(pair_addr hostb), wire and ssh both ways"
}
