# shellcheck shell=bash
# Host side of a lab session: boot Xen + dom0 under QEMU, hand commands to dom0's agent
# (dom0/xenlab-agent) through the 9p control folder, power off. Sourced by lab/run.
# A session lives in one folder, SDIR:
#   SDIR/ctrl/        shared with dom0 as /mnt/host: jobs/, out/, bin/ (dom0's PATH), ready,
#                     heartbeat, stop
#   SDIR/serial.log   Xen's and dom0's console: the first thing to read when something fails
#   SDIR/qemu.log     QEMU's own messages; SDIR/qemu.rc its exit status once it has ended
#   SDIR/pid          process group of the QEMU wrapper (killed as a group)
# Exit status 125 (LAB_FAILED) means the lab itself failed: no result came back.
# shellcheck source=lab/lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

LAB_FAILED=125
: "${XENLAB_ACCEL:=tcg}"
: "${XENLAB_MEM:=2048}"
: "${XENLAB_SMP:=2}"
# One dom0 vCPU: with two, processes in dom0 (xl, bash) sporadically crashed or hung under TCG
# with memory corruption (malloc/mutex assertions, segfaults); see lab/README.md.
: "${XENLAB_DOM0_VCPUS:=1}"
: "${XENLAB_BOOT_TIMEOUT:=300}"
: "${XENLAB_TIMEOUT:=900}"
: "${XENLAB_LIFETIME:=28800}"
: "${XENLAB_HEARTBEAT_TIMEOUT:=90}"
# How QEMU starts Xen: `kernel` (QEMU's multiboot loader with -kernel: fast, the default) or
# `grub` (SeaBIOS boots the disk's MBR: GRUB, its grub.cfg, Xen and dom0 as on a real host).
: "${XENLAB_BOOT:=kernel}"
# What a caller that sources this file (lab/lib/pair.sh) may set before session_boot: QEMU's
# network arguments (default: none) and extra QEMU arguments (e.g. shared disks).
SESSION_NET_ARGS=(-net none)
SESSION_EXTRA_ARGS=()

# Prints the failure, the serial log's tail and where the whole log is; returns LAB_FAILED.
session_fail() {
    local sdir=$1
    shift
    {
        echo "lab: FAILED: $*"
        if [ -s "$sdir/qemu.log" ]; then
            echo "--- QEMU said:"
            tail -n 10 "$sdir/qemu.log"
        fi
        echo "--- last 40 lines of the serial log ($sdir/serial.log):"
        tail -n 40 "$sdir/serial.log" 2>/dev/null || echo "(no serial log)"
        echo "--- end of serial log tail; whole log kept at $sdir/serial.log"
    } >&2
    return "$LAB_FAILED"
}

session_alive() {
    local sdir=$1
    [ -f "$sdir/pid" ] && [ ! -f "$sdir/qemu.rc" ] && kill -0 "$(cat "$sdir/pid")" 2>/dev/null
}

# Copies the binaries dom0 should have on its PATH into SDIR/ctrl/bin, replacing a file only
# when it changed (and by rename, so a binary running in dom0 is never overwritten in place).
# Source, first that is set: XENLAB_BIN_DIR (every file in it), XENLAB_BINS (a list of files),
# else every executable in the workspace's target/release (what `cargo build --release` made).
session_stage_bins() {
    local sdir=$1 bin dest files=()
    mkdir -p "$sdir/ctrl/bin"
    if [ -n "${XENLAB_BIN_DIR:-}" ]; then
        [ -d "$XENLAB_BIN_DIR" ] || lab_die "XENLAB_BIN_DIR=$XENLAB_BIN_DIR is not a folder"
        mapfile -t files < <(find "$XENLAB_BIN_DIR" -maxdepth 1 -type f)
    elif [ -n "${XENLAB_BINS:-}" ]; then
        read -r -a files <<< "$XENLAB_BINS"
    else
        local release=${CARGO_TARGET_DIR:-$workspace_dir/target}/release
        [ -d "$release" ] && mapfile -t files < <(find "$release" -maxdepth 1 -type f \
            -executable ! -name '*.so' ! -name '*.d')
    fi
    for bin in "${files[@]}"; do
        [ -f "$bin" ] || lab_die "binary to stage not found: $bin"
        dest=$sdir/ctrl/bin/$(basename "$bin")
        cmp -s "$bin" "$dest" && continue
        cp "$bin" "$dest.tmp" && chmod +x "$dest.tmp" && mv "$dest.tmp" "$dest"
    done
}

# Starts QEMU in the background (own session, so a terminal's Ctrl-C or hang-up does not
# reach a persistent lab) under a hard lifetime limit. Usage: session_boot SDIR IMAGE LIFETIME
session_boot() {
    local sdir=$1 image=$2 lifetime=$3 cpu accel
    accel=$XENLAB_ACCEL
    case $accel in
        tcg) cpu=${XENLAB_CPU:-max} ;;
        # Not usable on kvm-pvm machines (Xen stalls building dom0); offered for real VT-x/SVM.
        kvm) cpu=${XENLAB_CPU:-host,-arch-capabilities}
            [ -w /dev/kvm ] || lab_die "--accel kvm: /dev/kvm missing or not writable" ;;
        *) lab_die "accel must be tcg or kvm, not $accel" ;;
    esac
    mkdir -p "$sdir/ctrl/jobs" "$sdir/ctrl/out"
    rm -f "$sdir/ctrl/ready" "$sdir/ctrl/stop" "$sdir/ctrl/reboot" "$sdir/ctrl/heartbeat" \
        "$sdir/qemu.rc"
    : > "$sdir/serial.log"
    echo "$image" > "$sdir/image"
    echo "$XENLAB_BOOT" > "$sdir/boot"
    # Without Xen's `noreboot`, a dom0 crash makes Xen reboot after 5 s, and -no-reboot turns
    # that reboot into QEMU exiting: a crash ends the run quickly instead of hanging it.
    local xen_args="console=com1 com1=115200,8n1 dom0_mem=1024M,max:1024M"
    xen_args+=" dom0_max_vcpus=$XENLAB_DOM0_VCPUS loglvl=all guest_loglvl=all ${XENLAB_XEN_ARGS:-}"
    local dom0_args="root=/dev/vda1 rw console=hvc0 earlyprintk=xen init=/sbin/xenlab-init"
    dom0_args+=" panic=1 ${XENLAB_DOM0_ARGS:-}"
    local boot_args
    case $XENLAB_BOOT in
        kernel) boot_args=(-kernel "$image/xen" -append "$xen_args"
            # Multiboot modules: "FILE ARGS,FILE"; a comma inside ARGS must be doubled.
            -initrd "$image/vmlinuz ${dom0_args//,/,,},$image/initrd.img"
            # snapshot=on: writes go to a throw-away overlay, every boot starts from the image.
            -drive "file=$image/dom0.img,format=raw,if=virtio,snapshot=on") ;;
        # No -kernel: SeaBIOS boots the disk, GRUB reads /boot/grub/grub.cfg, and the Xen and
        # dom0 options are the disk's (XENLAB_XEN_ARGS, XENLAB_DOM0_ARGS, XENLAB_DOM0_VCPUS do
        # not apply). The session's own overlay keeps dom0's writes across a reboot
        # (lab/run --reboot) and is thrown away with the session folder.
        grub)
            command -v qemu-img >/dev/null || lab_die "--boot grub needs qemu-img (qemu-utils)"
            [ -f "$sdir/dom0.qcow2" ] || qemu-img create -q -f qcow2 -F raw \
                -b "$image/dom0.img" "$sdir/dom0.qcow2" >&2
            boot_args=(-drive "file=$sdir/dom0.qcow2,format=qcow2,if=virtio") ;;
        *) lab_die "XENLAB_BOOT (--boot) must be kernel or grub, not $XENLAB_BOOT" ;;
    esac
    local qemu=(qemu-system-x86_64 -machine q35 -accel "$accel${XENLAB_ACCEL_OPTS:+,$XENLAB_ACCEL_OPTS}" -cpu "$cpu"
        -smp "$XENLAB_SMP" -m "$XENLAB_MEM" -display none -no-reboot -monitor none
        -serial "file:$sdir/serial.log"
        "${boot_args[@]}"
        -virtfs "local,path=$sdir/ctrl,mount_tag=host,security_model=none,multidevs=remap,id=host"
        -virtfs "local,path=$workspace_dir,mount_tag=work,security_model=none,multidevs=remap,readonly=on,id=work"
        "${SESSION_NET_ARGS[@]}" "${SESSION_EXTRA_ARGS[@]}" -pidfile "$sdir/qemu.pid")
    echo "${qemu[*]}" > "$sdir/qemu.cmd"
    # shellcheck disable=SC2016 # expanded by the inner bash
    setsid bash -c '"${@:2}"; echo $? > "$1"' _ "$sdir/qemu.rc" \
        timeout -k 10 "$lifetime" "${qemu[@]}" < /dev/null > "$sdir/qemu.log" 2>&1 &
    echo $! > "$sdir/pid"
}

# Waits until dom0's agent is ready. Returns LAB_FAILED (after saying why) when QEMU ends first
# or XENLAB_BOOT_TIMEOUT passes.
session_wait_ready() {
    local sdir=$1 deadline=$((SECONDS + XENLAB_BOOT_TIMEOUT))
    while [ ! -f "$sdir/ctrl/ready" ]; do
        if ! session_alive "$sdir"; then
            session_fail "$sdir" "QEMU ended during boot (status $(cat "$sdir/qemu.rc" 2>/dev/null || echo '?'))"
            return
        fi
        if [ $SECONDS -ge $deadline ]; then
            session_kill "$sdir"
            session_fail "$sdir" "dom0 not ready within XENLAB_BOOT_TIMEOUT=${XENLAB_BOOT_TIMEOUT}s"
            return
        fi
        sleep 0.2
    done
}

# Prints what FILE gained since byte OFFSET (a file counter variable named by $3 is updated).
_session_drain() {
    local file=$1 fd=$2 var=$3 size
    [ -f "$file" ] || return 0
    size=$(stat -c %s "$file")
    if [ "$size" -gt "${!var}" ]; then
        tail -c "+$((${!var} + 1))" "$file" | head -c "$((size - ${!var}))" >&"$fd"
        printf -v "$var" %s "$size"
    fi
}

# Runs a command in dom0 and streams its stdout/stderr; returns its exit status, or
# LAB_FAILED when no result came back (QEMU ended, dom0 stopped responding, or the command
# outlived the timeout). With one argument, it is a shell command line (pipes, &&, ...);
# with several, they are the command's words. Usage: session_exec SDIR TIMEOUT CMD...
session_exec() {
    local sdir=$1 timeout=$2 id job script
    shift 2
    session_alive "$sdir" || { session_fail "$sdir" "no lab running in $sdir (start it first)"; return; }
    [ -f "$sdir/ctrl/ready" ] || { session_fail "$sdir" "lab in $sdir has not finished booting"; return; }
    if [ $# = 1 ]; then script=$1; else script=$(printf '%q ' "$@"); fi
    id=$(date +%s%N)-$$
    job=$sdir/ctrl/jobs/$id
    printf '%s\n' "$script" > "$job.tmp"
    mv "$job.tmp" "$job.sh"
    # shellcheck disable=SC2034 # updated by name in _session_drain
    local out_off=0 err_off=0 deadline=$((SECONDS + timeout)) now beat
    while [ ! -f "$job.rc" ]; do
        _session_drain "$job.out" 1 out_off
        _session_drain "$job.err" 2 err_off
        if ! session_alive "$sdir"; then
            session_fail "$sdir" "QEMU ended while running: $script (status $(cat "$sdir/qemu.rc" 2>/dev/null || echo '?'))"
            return
        fi
        now=$(date +%s)
        beat=$(stat -c %Y "$sdir/ctrl/heartbeat" 2>/dev/null || echo "$now")
        if [ $((now - beat)) -gt "$XENLAB_HEARTBEAT_TIMEOUT" ]; then
            session_fail "$sdir" "dom0 stopped responding (no heartbeat for $((now - beat))s) while running: $script"
            return
        fi
        if [ $SECONDS -ge $deadline ]; then
            session_fail "$sdir" "command did not finish within ${timeout}s: $script"
            return
        fi
        sleep 0.05
    done
    _session_drain "$job.out" 1 out_off
    _session_drain "$job.err" 2 err_off
    local rc
    rc=$(cat "$job.rc")
    rm -f "$job.run" "$job.out" "$job.err" "$job.rc"
    return "$rc"
}

# Kills the QEMU wrapper's whole process group (only what session_boot started).
session_kill() {
    local sdir=$1 pid
    pid=$(cat "$sdir/pid" 2>/dev/null) || return 0
    # The group, and QEMU by its own pid file too: the group kill alone once left a QEMU alive.
    kill -TERM -- "-$pid" 2>/dev/null || true
    if [ -f "$sdir/qemu.pid" ]; then kill -TERM "$(cat "$sdir/qemu.pid")" 2>/dev/null || true; fi
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
    if [ -f "$sdir/qemu.pid" ]; then kill -KILL "$(cat "$sdir/qemu.pid")" 2>/dev/null || true; fi
}

# Reboots the lab machine with its disk (--boot grub only): dom0 syncs and reboots, Xen resets
# the machine, QEMU (-no-reboot) ends, and QEMU starts again on the same disk overlay, where
# SeaBIOS boots GRUB with whatever dom0 wrote to /boot. The boot's serial log is kept as
# serial.N.log (N = 1, 2, ...). Returns LAB_FAILED when dom0 did not reboot within
# XENLAB_REBOOT_TIMEOUT (120 s) or the machine did not come back.
session_reboot() {
    local sdir=$1 lifetime=$2 image n=1 deadline
    [ "$(cat "$sdir/boot" 2>/dev/null)" = grub ] ||
        lab_die "--reboot needs a lab started with --boot grub (a -kernel boot's disk overlay ends with QEMU)"
    session_alive "$sdir" || { session_fail "$sdir" "no lab running in $sdir (start it first)"; return; }
    image=$(cat "$sdir/image")
    touch "$sdir/ctrl/reboot"
    deadline=$((SECONDS + ${XENLAB_REBOOT_TIMEOUT:-120}))
    while session_alive "$sdir"; do
        if [ $SECONDS -ge $deadline ]; then
            session_kill "$sdir"
            session_fail "$sdir" "dom0 did not reboot within ${XENLAB_REBOOT_TIMEOUT:-120}s"
            return
        fi
        sleep 0.2
    done
    # Xen's own words for a dom0 reboot; anything else ending QEMU is a crash.
    if ! grep -q 'shutdown: rebooting machine' "$sdir/serial.log"; then
        session_fail "$sdir" "QEMU ended without Xen rebooting the machine (status $(cat "$sdir/qemu.rc" 2>/dev/null || echo '?'))"
        return
    fi
    while [ -e "$sdir/serial.$n.log" ]; do n=$((n + 1)); done
    mv "$sdir/serial.log" "$sdir/serial.$n.log"
    XENLAB_BOOT=grub session_boot "$sdir" "$image" "$lifetime"
    session_wait_ready "$sdir"
}

# Asks dom0 to power off, waits up to 30 s for QEMU to end, then kills it.
session_stop() {
    local sdir=$1
    [ -d "$sdir/ctrl" ] && touch "$sdir/ctrl/stop"
    for _ in $(seq 300); do
        session_alive "$sdir" || return 0
        sleep 0.1
    done
    lab_log "dom0 did not power off within 30 s; killing QEMU"
    session_kill "$sdir"
}
