#!/usr/bin/env bash
# Regenerates the committed bindings in src/v<major>_<minor>/ from the installed Xen headers.
#
# Needs: bindgen-cli at exactly $BINDGEN_VERSION
#        (cargo install bindgen-cli --version 0.72.1 --locked),
#        libclang (Debian: libclang-dev) and the Xen headers (Debian: libxen-dev).
# Usage: xen-sys/generate/generate.sh            (from anywhere; writes src/v4_17/)
#
# Nothing here runs at build time: the output is committed, so building xen-sys needs neither
# libclang nor the Xen headers. Run it when adding a function or a Xen version, then review the
# diff. Every bindgen command is printed before it runs, so the log records it exactly.
set -euo pipefail

BINDGEN_VERSION=0.72.1
XEN_VERSION=4.17                  # the headers this run reads (Debian 12 libxen-dev 4.17.7)
MODULE=v4_17

here=$(cd "$(dirname "$0")" && pwd)
out="$here/../src/$MODULE"
header="$here/xen.h"

found=$(bindgen --version | awk '{print $2}')
if [[ "$found" != "$BINDGEN_VERSION" ]]; then
    echo "generate.sh: need bindgen $BINDGEN_VERSION, found '$found'" >&2
    echo "  cargo install bindgen-cli --version $BINDGEN_VERSION --locked" >&2
    exit 1
fi
installed=$(grep -o 'XEN_SYSCTL_INTERFACE_VERSION 0x[0-9a-f]*' /usr/include/xen/sysctl.h || true)
echo "# headers: /usr/include ($installed), expected Xen $XEN_VERSION"
mkdir -p "$out"

# Options every run shares. Enums become plain integer constants: a C enum read back from the
# library may hold a value this version does not know, and a Rust enum with it would be UB.
common=(
    --rust-target 1.88 --rust-edition 2024
    --default-enum-style consts
    --no-doc-comments
    --sort-semantically
    --merge-extern-blocks
    --wrap-unsafe-ops
)

# Functions xenadm calls, one regex per library (each becomes one loader struct).
xenstat_fns='xenstat_.*'
xenctrl_fns='xc_interface_open|xc_interface_close|xc_get_last_error|xc_clear_last_error|xc_error_code_to_desc|xc_physinfo|xc_version|xc_domain_getinfolist|xc_vcpu_getinfo|xc_sched_id|xc_get_max_cpus|xc_get_cpumap_size|xc_cpupool_freeinfo|xc_sharing_freed_pages|xc_sharing_used_frames|xc_cputopoinfo|xc_numainfo|xc_pcitopoinfo|xc_sched_credit_domain_get|xc_sched_credit_domain_set|xc_sched_credit2_domain_get|xc_sched_credit2_domain_set'
xenstore_fns='xs_open|xs_close|xs_read|xs_write|xs_directory|xs_rm|xs_get_domain_path|xs_transaction_start|xs_transaction_end'
xentoollog_fns='xtl_createlogger_stdiostream|xtl_stdiostream_set_minlevel|xtl_logger_destroy'
xenguest_fns='xc_cpu_policy_init|xc_cpu_policy_destroy|xc_cpu_policy_get_system|xc_cpu_policy_get_domain|xc_cpu_policy_serialise|xc_cpu_policy_get_size|xc_get_cpu_levelling_caps|xc_domain_save|xc_suspend_evtchn_init_exclusive|xc_suspend_evtchn_release|xc_await_suspend'
xenevtchn_fns='xenevtchn_open|xenevtchn_close|xenevtchn_notify|xenevtchn_fd'
xenlight_fns='libxl_ctx_alloc|libxl_ctx_free|libxl_childproc_setmode|libxl_list_domain|libxl_dominfo_list_free|libxl_domain_info|libxl_dominfo_init|libxl_dominfo_dispose|libxl_domid_to_name|libxl_name_to_domid|libxl_retrieve_domain_configuration|libxl_domain_config_init|libxl_domain_config_dispose|libxl_domain_config_to_json|libxl_domain_config_from_json|libxl_domain_suspend|libxl_domain_resume|libxl_domain_rename|libxl_domain_destroy|libxl_domain_pause|libxl_domain_unpause|libxl_domain_create_restore|libxl_domain_restore_params_init|libxl_domain_restore_params_dispose|libxl_domain_need_memory|libxl_get_free_memory'
all_fns="$xenstat_fns|$xenctrl_fns|$xenstore_fns|$xentoollog_fns|$xenlight_fns|$xenguest_fns|$xenevtchn_fns"

run() {
    echo "+ bindgen $(printf "%q " "$@")"
    bindgen "$@"
}

# 1. Every type the functions above use (found recursively), plus the constants xenadm needs.
#    FILE comes from libc; libxl_domain_config is opaque on purpose (it grows every release,
#    see mod.rs), so both are left out here. xenadm passes only NULL for the libxl async
#    "how" structs, so they stay opaque rather than pulling in libxl's event types.
run "${common[@]}" \
    --generate types,vars \
    --allowlist-function "$all_fns" \
    --allowlist-type 'xc_error|xc_domaininfo_t|xc_vcpuinfo_t|xc_physinfo_t|xen_extraversion_t|xen_compile_info_t|xen_capabilities_info_t|xen_changeset_info_t|xen_platform_parameters_t|xen_commandline_t|xen_build_id_t|xs_transaction_t|xentoollog_level|libxl_dominfo|libxl_domain_restore_params|libxl_childproc_hooks|libxl_sigchld_owner|libxl_shutdown_reason|libxl_domain_type|libxl_scheduler|libxl_checkpointed_stream|libxl_error|xenstat_handle|xenstat_node|xenstat_domain|xenstat_vcpu|xenstat_network|xenstat_vbd|xc_interface|xc_cpumap_t|xc_cputopo_t|xc_meminfo_t|physdev_pci_device_t|xs_handle|xentoollog_logger|xentoollog_logger_stdiostream|libxl_ctx|libxl_asyncop_how|libxl_asyncprogress_how|xc_cpu_policy_t|xen_cpuid_leaf_t|xen_msr_entry_t|save_callbacks|precopy_stats|precopy_policy_t|xc_stream_type_t|xenevtchn_handle|evtchn_port_t|xen_domctl_sched_credit|xen_domctl_sched_credit2' \
    --allowlist-var 'XC_MAX_ERROR_MSG_LEN|XENSTAT_.*|XEN_DOMINF_.*|XENVER_.*|XEN_SYSCTL_PHYSCAP_.*|XEN_SCHEDULER_.*|XS_OPEN_.*|XBT_NULL|XTL_STDIOSTREAM_.*|LIBXL_VERSION|LIBXL_SUSPEND_.*|XEN_INVALID_.*|XEN_SYSCTL_cpu_policy_.*|XEN_SYSCTL_CPU_LEVELCAP_.*|XEN_CPUID_NO_SUBLEAF|XCFLAGS_.*|XGS_POLICY_.*|SHUTDOWN_.*|XEN_DOMINF_shutdown.*' \
    --blocklist-type 'FILE|_IO_.*|libxl_domain_config' \
    --opaque-type 'libxl_asyncop_how|libxl_asyncprogress_how' \
    "$header" -o "$out/types.rs"

# 2. One run-time loader per library: a struct of function pointers filled with dlsym, so
#    nothing links against the Xen libraries. Types come from types.rs.
loader() { # file struct-name regex
    run "${common[@]}" \
        --dynamic-loading "$2" --dynamic-link-require-all \
        --allowlist-function "$3" --blocklist-type '.*' \
        --raw-line 'use super::types::*;' \
        "$header" -o "$out/$1.rs"
    # The symbol list, so the loader can name the first missing symbol before dlsym fails.
    {
        echo
        echo "/// Every symbol \`$2\` resolves, in order."
        echo "pub const SYMBOLS: &[&str] = &["
        grep -o 'get(b"[A-Za-z0-9_]*\\0")' "$out/$1.rs" | sed 's/get(b"\(.*\)\\0")/    "\1",/'
        echo "];"
    } >> "$out/$1.rs"
}
loader xenstat XenStatFns "$xenstat_fns"
loader xenctrl XenCtrlFns "$xenctrl_fns"
loader xenstore XenStoreFns "$xenstore_fns"
loader xentoollog XenToolLogFns "$xentoollog_fns"
loader xenlight XenLightFns "$xenlight_fns"
loader xenguest XenGuestFns "$xenguest_fns"
loader xenevtchn XenEvtchnFns "$xenevtchn_fns"

# Two types live outside types.rs: FILE is libc's, libxl_domain_config is opaque (mod.rs).
sed -i 's/^use super::types::\*;$/use super::types::*;\nuse libc::FILE;/' "$out/xentoollog.rs"
sed -i 's/^use super::types::\*;$/use super::libxl_domain_config;\nuse super::types::*;/' "$out/xenlight.rs"

rustfmt --edition 2024 "$out"/*.rs
echo "# wrote $out/{types,xenstat,xenctrl,xenstore,xentoollog,xenlight,xenguest,xenevtchn}.rs"
