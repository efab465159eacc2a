# shellcheck shell=bash
# Shared by the host-side lab scripts: where things live, the tools they need, cache keys.
# Sourced, never run. Every path here can be moved with an environment variable (see README).

lab_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck disable=SC2034 # used by the scripts that source this
workspace_dir=$(cd "$lab_dir/.." && pwd)

# The cache lives outside the clone so a fresh clone (CI) on the same machine reuses it.
: "${XENLAB_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/xenadm-lab}"
# Debian mirror and suite of dom0. The suite is part of the cache key; the mirror is not (any
# mirror serves the same packages).
: "${XENLAB_MIRROR:=http://deb.debian.org/debian}"
: "${XENLAB_SUITE:=bookworm}"

lab_die() {
    echo "lab: error: $*" >&2
    exit 1
}

lab_log() {
    echo "lab: $*" >&2
}

# Prints the host tools the lab needs that are not installed (empty when all are there).
lab_missing_host_tools() {
    local missing="" tool
    for tool in qemu-system-x86_64 debootstrap cpio zstd mkfs.ext4 xz timeout; do
        command -v "$tool" >/dev/null 2>&1 || PATH="$PATH:/usr/sbin:/sbin" command -v "$tool" \
            >/dev/null 2>&1 || missing="$missing $tool"
    done
    echo "${missing# }"
}

# Fails with the fix when a host tool is missing.
lab_require_host_tools() {
    local missing
    missing=$(lab_missing_host_tools)
    [ -z "$missing" ] || lab_die "missing host tools: $missing
  qemu-system-x86_64 comes from the qemu-system-x86 package (on bookworm: from bookworm-backports).
  Install everything with: sudo $lab_dir/install-host-deps"
}

# Hash of the files that decide the rootfs tarball (packages, how they are installed).
lab_rootfs_key() {
    {
        echo "suite=$XENLAB_SUITE"
        cat "$lab_dir/image/packages" "$lab_dir/image/mkrootfs"
    } | sha256sum | cut -c1-16
}

# Hash of what decides the cached GRUB packages (image/boot-packages on top of the rootfs).
lab_debs_key() {
    {
        lab_rootfs_key
        cat "$lab_dir/image/boot-packages"
    } | sha256sum | cut -c1-16
}

# Hash of every input of the bootable image: the rootfs key plus what is added on top of it.
lab_image_key() {
    {
        lab_rootfs_key
        echo "xen=${XENLAB_XEN:-auto}"
        find "$lab_dir/build-image" "$lab_dir/image" "$lab_dir/dom0" "$lab_dir/guest" -type f \
            -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sed "s|$lab_dir/||"
    } | sha256sum | cut -c1-16
}

lab_image_dir() {
    echo "${XENLAB_IMAGE:-$XENLAB_CACHE/image-$(lab_image_key)}"
}
