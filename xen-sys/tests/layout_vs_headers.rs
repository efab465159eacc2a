//! The committed bindings against the Xen headers INSTALLED on this machine: a C program built
//! with `cc` prints sizeof/offsetof of every struct field and the value of every constant the
//! bindings use, and each must equal Rust's `size_of`/`offset_of!`/constant.
//!
//! Run with newer headers (another Xen release's libxen-dev), this is also the check that the
//! v4_17 bindings still serve that release. Skips when `cc` or the headers are missing, unless
//! XENADM_REQUIRE_TOOLS=1.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::mem::{offset_of, size_of};
use std::process::Command;

use xen_sys::v4_17::types::*;

/// One fact to compare: a key (`size T`, `offset T.f`, `const NAME`), its C expression and the
/// Rust value.
struct Fact {
    key: String,
    c_expr: String,
    rust: i128,
}

/// Struct sizes and field offsets. `T as "C spelling"` when C names the type differently.
macro_rules! layouts {
    ($facts:ident; $( $ty:ident $(as $c:literal)? { $($field:ident),* $(,)? } )*) => {$(
        let c_name: &str = layouts!(@c $ty $($c)?);
        $facts.push(Fact {
            key: format!("size {}", stringify!($ty)),
            c_expr: format!("sizeof({c_name})"),
            rust: size_of::<$ty>() as i128,
        });
        $(
            $facts.push(Fact {
                key: format!("offset {}.{}", stringify!($ty), stringify!($field)),
                c_expr: format!("offsetof({c_name}, {})", stringify!($field)),
                rust: offset_of!($ty, $field) as i128,
            });
        )*
    )*};
    (@c $ty:ident) => { stringify!($ty) };
    (@c $ty:ident $c:literal) => { $c };
}

/// Constants, compared by value.
macro_rules! constants {
    ($facts:ident; $( $name:ident $(as $c:literal)? ),* $(,)?) => {$(
        let c_name: &str = constants!(@c $name $($c)?);
        $facts.push(Fact {
            key: format!("const {}", stringify!($name)),
            c_expr: format!("(long long)({c_name})"),
            rust: $name as i128,
        });
    )*};
    (@c $name:ident) => { stringify!($name) };
    (@c $name:ident $c:literal) => { $c };
}

fn facts() -> Vec<Fact> {
    let mut facts = Vec::new();
    layouts!(facts;
        xc_domaininfo_t {
            domain, pad1, flags, tot_pages, max_pages, outstanding_pages, shr_pages,
            paged_pages, shared_info_frame, cpu_time, nr_online_vcpus, max_vcpu_id, ssidref,
            handle, cpupool, gpaddr_bits, pad2, arch_config,
        }
        xen_arch_domainconfig as "struct xen_arch_domainconfig" { emulation_flags, misc_flags }
        xc_vcpuinfo_t { vcpu, online, blocked, running, cpu_time, cpu }
        xc_error { code, message }
        xc_physinfo_t {
            threads_per_core, cores_per_socket, nr_cpus, max_cpu_id, nr_nodes, max_node_id,
            cpu_khz, capabilities, arch_capabilities, pad, total_pages, free_pages, scrub_pages,
            outstanding_pages, max_mfn, hw_cap,
        }
        xen_extraversion_t {}
        xen_compile_info_t { compiler, compile_by, compile_domain, compile_date }
        xen_capabilities_info_t {}
        xen_changeset_info_t {}
        xen_platform_parameters_t { virt_start }
        xen_commandline_t {}
        xen_build_id_t { len, buf }
        xentoollog_logger { vmessage, progress, destroy }
        libxl_uuid { uuid }
        libxl_defbool { val }
        libxl_dominfo {
            uuid, domid, ssidref, ssid_label, running, blocked, paused, shutdown, dying,
            never_stop, shutdown_reason, outstanding_memkb, current_memkb, shared_memkb,
            paged_memkb, max_memkb, cpu_time, vcpu_max_id, vcpu_online, cpupool, gpaddr_bits,
            domain_type,
        }
        libxl_domain_restore_params {
            checkpointed_stream, stream_version, colo_proxy_script, userspace_colo_proxy,
        }
        libxl_childproc_hooks { chldowner, fork_replacement, reaped_callback }
        libxl_asyncop_how {}
        libxl_asyncprogress_how {}
        xc_cputopo_t { core, socket, node }
        xc_meminfo_t { memsize, memfree }
        physdev_pci_device_t { seg, bus, devfn }
        xen_cpuid_leaf_t { leaf, subleaf, a, b, c, d }
        xen_msr_entry_t { idx, flags, val }
        save_callbacks as "struct save_callbacks" {
            suspend, precopy_policy, postcopy, checkpoint, wait_checkpoint,
            switch_qemu_logdirty, data,
        }
        precopy_stats as "struct precopy_stats" { iteration, total_written, dirty_count }
        xen_domctl_sched_credit as "struct xen_domctl_sched_credit" { weight, cap }
        xen_domctl_sched_credit2 as "struct xen_domctl_sched_credit2" { weight, cap }
    );
    constants!(facts;
        XENSTAT_VCPU, XENSTAT_NETWORK, XENSTAT_XEN_VERSION, XENSTAT_VBD, XENSTAT_ALL,
        XEN_DOMINF_dying, XEN_DOMINF_hvm_guest, XEN_DOMINF_shutdown, XEN_DOMINF_paused,
        XEN_DOMINF_blocked, XEN_DOMINF_running, XEN_DOMINF_debugged, XEN_DOMINF_xs_domain,
        XEN_DOMINF_hap, XEN_DOMINF_shutdownmask, XEN_DOMINF_shutdownshift,
        XENVER_version, XENVER_extraversion, XENVER_compile_info, XENVER_capabilities,
        XENVER_changeset, XENVER_platform_parameters, XENVER_pagesize, XENVER_commandline,
        XENVER_build_id,
        XEN_SYSCTL_PHYSCAP_hvm, XEN_SYSCTL_PHYSCAP_pv, XEN_SYSCTL_PHYSCAP_directio,
        XEN_SYSCTL_PHYSCAP_hap, XEN_SYSCTL_PHYSCAP_shadow,
        XEN_SYSCTL_PHYSCAP_iommu_hap_pt_share, XEN_SYSCTL_PHYSCAP_vmtrace,
        XEN_SYSCTL_PHYSCAP_vpmu, XEN_SYSCTL_PHYSCAP_gnttab_v1, XEN_SYSCTL_PHYSCAP_gnttab_v2,
        XEN_SCHEDULER_CREDIT, XEN_SCHEDULER_CREDIT2, XEN_SCHEDULER_ARINC653,
        XEN_SCHEDULER_RTDS, XEN_SCHEDULER_NULL,
        XS_OPEN_READONLY, XS_OPEN_SOCKETONLY, XBT_NULL,
        XTL_STDIOSTREAM_SHOW_PID, XTL_STDIOSTREAM_SHOW_DATE, XTL_STDIOSTREAM_HIDE_PROGRESS,
        LIBXL_VERSION, LIBXL_SUSPEND_DEBUG, LIBXL_SUSPEND_LIVE,
        xentoollog_level_XTL_DEBUG as "XTL_DEBUG",
        xentoollog_level_XTL_PROGRESS as "XTL_PROGRESS",
        xentoollog_level_XTL_ERROR as "XTL_ERROR",
        xentoollog_level_XTL_NUM_LEVELS as "XTL_NUM_LEVELS",
        libxl_sigchld_owner_libxl_sigchld_owner_libxl_always_selective_reap
            as "libxl_sigchld_owner_libxl_always_selective_reap",
        libxl_checkpointed_stream_LIBXL_CHECKPOINTED_STREAM_NONE
            as "LIBXL_CHECKPOINTED_STREAM_NONE",
        libxl_shutdown_reason_LIBXL_SHUTDOWN_REASON_CRASH as "LIBXL_SHUTDOWN_REASON_CRASH",
        libxl_domain_type_LIBXL_DOMAIN_TYPE_PV as "LIBXL_DOMAIN_TYPE_PV",
        libxl_error_ERROR_FAIL as "ERROR_FAIL",
        xc_error_code_XC_ERROR_NONE as "XC_ERROR_NONE",
        xc_error_code_XC_INTERNAL_ERROR as "XC_INTERNAL_ERROR",
        XC_MAX_ERROR_MSG_LEN,
        XEN_SYSCTL_cpu_policy_raw, XEN_SYSCTL_cpu_policy_host, XEN_SYSCTL_cpu_policy_pv_max,
        XEN_SYSCTL_cpu_policy_pv_default, XEN_CPUID_NO_SUBLEAF,
        XEN_SYSCTL_CPU_LEVELCAP_faulting, XEN_SYSCTL_CPU_LEVELCAP_ecx,
        XEN_SYSCTL_CPU_LEVELCAP_edx, XEN_SYSCTL_CPU_LEVELCAP_extd_ecx,
        XEN_SYSCTL_CPU_LEVELCAP_extd_edx, XEN_SYSCTL_CPU_LEVELCAP_xsave_eax,
        XEN_SYSCTL_CPU_LEVELCAP_thermal_ecx, XEN_SYSCTL_CPU_LEVELCAP_l7s0_eax,
        XEN_SYSCTL_CPU_LEVELCAP_l7s0_ebx,
        XCFLAGS_LIVE, XCFLAGS_DEBUG, XGS_POLICY_ABORT, XGS_POLICY_CONTINUE_PRECOPY,
        XGS_POLICY_STOP_AND_COPY, SHUTDOWN_suspend, SHUTDOWN_poweroff,
        xc_stream_type_t_XC_STREAM_PLAIN as "XC_STREAM_PLAIN",
    );
    // `~0U` in C; bindgen types them i32, so compare them as the u32 the code uses.
    for (name, value) in [
        ("XEN_INVALID_CORE_ID", XEN_INVALID_CORE_ID),
        ("XEN_INVALID_SOCKET_ID", XEN_INVALID_SOCKET_ID),
        ("XEN_INVALID_NODE_ID", XEN_INVALID_NODE_ID),
        ("XEN_INVALID_MEM_SZ", XEN_INVALID_MEM_SZ),
        ("XEN_INVALID_NODE_DIST", XEN_INVALID_NODE_DIST),
        ("XEN_INVALID_DEV", XEN_INVALID_DEV),
        ("XEN_INVALID_MAX_VCPU_ID", XEN_INVALID_MAX_VCPU_ID),
    ] {
        facts.push(Fact {
            key: format!("const {name}"),
            c_expr: format!("(long long)({name})"),
            rust: i128::from(value as u32),
        });
    }
    facts
}

const HEADERS: &[&str] = &[
    "xentoollog.h",
    "xenctrl.h",
    "xenevtchn.h",
    "xenguest.h",
    "xenstore.h",
    "xenstat.h",
    "libxl.h",
];

/// Compiles and runs `source`, returning its stdout, or why it could not.
fn run_c(dir: &std::path::Path, source: &str) -> Result<String, String> {
    let c_file = dir.join("probe.c");
    let exe = dir.join("probe");
    std::fs::write(&c_file, source).unwrap();
    let compiled = Command::new("cc")
        .arg("-o")
        .arg(&exe)
        .arg(&c_file)
        .output()
        .map_err(|e| format!("cannot run cc: {e}"))?;
    if !compiled.status.success() {
        return Err(String::from_utf8_lossy(&compiled.stderr).into_owned());
    }
    let ran = Command::new(&exe).output().unwrap();
    assert!(ran.status.success());
    Ok(String::from_utf8(ran.stdout).unwrap())
}

#[test]
fn bindings_match_the_installed_headers() {
    let dir = tempfile::tempdir().unwrap();
    let includes: String = HEADERS
        .iter()
        .map(|h| format!("#include <{h}>\n"))
        .collect();

    // First: are the headers there at all?
    if let Err(why) = run_c(
        dir.path(),
        &format!("{includes}int main(void) {{ return 0; }}\n"),
    ) {
        common::skip(&format!(
            "Xen headers or cc missing (Debian: apt-get install libxen-dev gcc): {}",
            why.lines().next().unwrap_or("")
        ));
        return;
    }

    let facts = facts();
    let mut source =
        format!("#include <stddef.h>\n#include <stdio.h>\n{includes}int main(void) {{\n");
    for fact in &facts {
        source.push_str(&format!(
            "    printf(\"%s\\t%lld\\n\", \"{}\", (long long)({}));\n",
            fact.key, fact.c_expr
        ));
    }
    source.push_str("    return 0;\n}\n");
    let output = run_c(dir.path(), &source).unwrap_or_else(|why| panic!("probe failed:\n{why}"));

    let c_values: BTreeMap<&str, i128> = output
        .lines()
        .map(|line| {
            let (key, value) = line.split_once('\t').unwrap();
            (key, value.parse().unwrap())
        })
        .collect();
    assert_eq!(
        c_values.len(),
        facts.len(),
        "duplicate keys in the fact list"
    );
    let mismatches: Vec<String> = facts
        .iter()
        .filter(|f| c_values[f.key.as_str()] != f.rust)
        .map(|f| {
            format!(
                "{}: headers {}, bindings {}",
                f.key,
                c_values[f.key.as_str()],
                f.rust
            )
        })
        .collect();
    assert!(
        mismatches.is_empty(),
        "bindings differ from the headers:\n{}",
        mismatches.join("\n")
    );
    // The probe really covered the structs (guards against an empty fact list).
    assert_eq!(c_values["size xc_domaininfo_t"], 112);
    assert!(facts.len() > 100, "{}", facts.len());
}

/// The C prototypes the committed function tables assume for the calls whose arguments are
/// not plain handles: assigning each real function to a pointer of that type must compile
/// without an incompatible-pointer warning (made an error).
const PROTOTYPES: &[(&str, &str)] = &[
    (
        "xc_domain_save",
        "int (*)(xc_interface *, int, uint32_t, uint32_t, struct save_callbacks *, \
         xc_stream_type_t, int)",
    ),
    (
        "xc_suspend_evtchn_init_exclusive",
        "int (*)(xc_interface *, struct xenevtchn_handle *, uint32_t, int, int *)",
    ),
    (
        "xc_suspend_evtchn_release",
        "int (*)(xc_interface *, struct xenevtchn_handle *, uint32_t, int, int *)",
    ),
    (
        "xc_await_suspend",
        "int (*)(xc_interface *, struct xenevtchn_handle *, int)",
    ),
    (
        "xc_sched_credit_domain_set",
        "int (*)(xc_interface *, uint32_t, struct xen_domctl_sched_credit *)",
    ),
    (
        "xc_sched_credit2_domain_get",
        "int (*)(xc_interface *, uint32_t, struct xen_domctl_sched_credit2 *)",
    ),
    (
        "xenevtchn_notify",
        "int (*)(xenevtchn_handle *, evtchn_port_t)",
    ),
    (
        "xenevtchn_open",
        "xenevtchn_handle *(*)(struct xentoollog_logger *, unsigned int)",
    ),
];

#[test]
fn save_call_signatures_match_the_installed_headers() {
    let dir = tempfile::tempdir().unwrap();
    let includes: String = HEADERS
        .iter()
        .map(|h| format!("#include <{h}>\n"))
        .collect();
    if run_c(
        dir.path(),
        &format!("{includes}int main(void) {{ return 0; }}\n"),
    )
    .is_err()
    {
        common::skip("Xen headers or cc missing (Debian: apt-get install libxen-dev gcc)");
        return;
    }
    for (name, prototype) in PROTOTYPES {
        let (ret, args) = prototype.split_once("(*)").unwrap();
        let source = format!(
            "{includes}typedef {ret}(*probe_t){args};\n\
             int main(void) {{ probe_t p = {name}; return p == 0; }}\n"
        );
        let c_file = dir.path().join("sig.c");
        std::fs::write(&c_file, source).unwrap();
        let compiled = Command::new("cc")
            .args(["-fsyntax-only", "-Werror=incompatible-pointer-types"])
            .arg(&c_file)
            .output()
            .unwrap();
        assert!(
            compiled.status.success(),
            "{name} is not {prototype} in the installed headers:\n{}",
            String::from_utf8_lossy(&compiled.stderr)
        );
    }
}
