//! The real backend against what this machine has: no Xen libraries (an empty
//! XENADM_XEN_LIBDIR), the real libraries without a hypervisor (development and CI machines),
//! or a real dom0 run as root (the lab), where a sample and `xl info` facts are read.
//!
//! Tests that need the installed libraries skip without them, unless XENADM_REQUIRE_TOOLS=1.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use xen_core::XenError;
use xen_core::ffi::{LibxlCtx, LogLevel, XcInterface, XenStatHandle, XenStoreHandle, XtlLogger};
use xen_core::host::{DomId, HostBackend, SampleFlags, XenBackend};
use xen_sys::{LoadOptions, XenLibrary, XenSysError};

/// Whether this machine is a Xen dom0 we can drive (the lab, as root).
fn on_xen() -> bool {
    Path::new("/dev/xen/privcmd").exists()
}

/// Loads a library from the system, or skips (None).
fn installed<F: xen_sys::FnTable>() -> Option<Arc<xen_sys::Loaded<F>>> {
    match xen_sys::Loaded::<F>::load() {
        Ok(lib) => Some(Arc::new(lib)),
        Err(err) => {
            test_support::tools::skip(&format!("Xen libraries not installed: {err}"));
            None
        }
    }
}

#[test]
fn an_empty_library_folder_names_the_library_and_every_soname() {
    let dir = tempfile::tempdir().unwrap();
    let err = XenBackend::open_with(&LoadOptions::in_dir(dir.path())).unwrap_err();
    let XenError::Library(XenSysError::NotFound { library, tried, .. }) = &err else {
        panic!("expected a missing library, got {err:?}");
    };
    // The first library loaded is libxentoollog, a stable one with one soname.
    assert_eq!(*library, XenLibrary::XenToolLog);
    assert_eq!(
        tried,
        &[dir.path().join("libxentoollog.so.1").display().to_string()]
    );
    let text = err.to_string();
    assert!(text.contains("libxentoollog not found"), "{text}");
    assert!(text.contains("Xen dom0"), "{text}");
}

/// The child half of `xenadm_xen_libdir_is_honoured`: only runs in the child process.
#[test]
fn child_open_from_env() {
    let Some(expected_dir) = std::env::var_os("XEN_BACKEND_TEST_CHILD") else {
        return;
    };
    let err = XenBackend::open().unwrap_err();
    let XenError::Library(XenSysError::NotFound { searched, .. }) = &err else {
        panic!("expected a missing library, got {err:?}");
    };
    assert_eq!(searched, &xen_sys::SearchPath::Dir(expected_dir.into()));
}

#[test]
fn xenadm_xen_libdir_is_honoured() {
    // The environment is process-wide: check XenBackend::open in a child process.
    let dir = tempfile::tempdir().unwrap();
    let child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_open_from_env", "--test-threads=1"])
        .env("XENADM_XEN_LIBDIR", dir.path())
        .env("XEN_BACKEND_TEST_CHILD", dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&child.stdout);
    assert!(
        child.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&child.stderr)
    );
    assert!(stdout.contains("1 passed"), "{stdout}");
}

#[test]
fn without_a_hypervisor_the_backend_says_not_dom0() {
    if installed::<xen_sys::v4_17::xenstat::XenStatFns>().is_none() {
        return;
    }
    match XenBackend::open() {
        Err(err) if !on_xen() => {
            assert!(matches!(err, XenError::NotDom0 { .. }), "{err:?}");
            let text = err.to_string();
            assert!(
                text.starts_with("not a Xen dom0: /dev/xen/privcmd: "),
                "{text}"
            );
        }
        Err(err) => panic!("on a Xen host (lab): {err}"),
        Ok(mut backend) => {
            assert!(on_xen());
            lab_checks(&mut backend);
        }
    }
}

/// On a real dom0: dom0 is in the sample with its UUID and vCPUs, and the host facts are sane.
fn lab_checks(backend: &mut XenBackend) {
    let sample = backend.sample(SampleFlags::all()).unwrap();
    assert!(sample.monotonic_ns > 0 && sample.unix_time_ns > 0);
    assert!(sample.node.num_cpus >= 1 && sample.node.total_memory_kib > 0);
    assert!(
        sample
            .node
            .xen_version
            .as_deref()
            .unwrap()
            .starts_with("4.")
    );
    let dom0 = sample
        .domains
        .iter()
        .find(|d| d.domid == DomId(0))
        .expect("dom0");
    assert_eq!(dom0.name.as_bytes(), b"Domain-0");
    assert!(dom0.uuid.is_some());
    assert!(dom0.online_vcpus >= 1 && dom0.online_vcpus <= dom0.max_vcpus);
    assert_eq!(dom0.vcpus.len(), dom0.max_vcpus as usize);
    let later = backend.sample(SampleFlags::empty()).unwrap();
    assert!(later.monotonic_ns > sample.monotonic_ns);
    assert!(
        later
            .domains
            .iter()
            .all(|d| d.vcpus.is_empty() && d.vifs.is_empty())
    );

    let info = backend.host_info().unwrap();
    assert_eq!(info.xen_major, 4);
    assert!(xen_sys::SUPPORTED_MINORS.contains(&info.xen_minor));
    assert_eq!(info.xen_pagesize, 4096);
    assert_eq!(info.nr_cpus, sample.node.num_cpus);
    assert!(!info.xen_scheduler.is_empty() && info.xen_scheduler != "unknown");
    assert!(info.platform_params.starts_with("virt_start=0x"));
    assert!(info.free_cpus <= info.nr_cpus);
}

#[test]
fn a_failing_c_call_reports_its_errno() {
    let Some(ctrl) = installed::<xen_sys::v4_17::xenctrl::XenCtrlFns>() else {
        return;
    };
    if on_xen() {
        // Covered by the lab checks above.
        return;
    }
    // libxenctrl logs why through our logger (to tracing), not to stderr.
    let err = XcInterface::open(ctrl, XtlLogger::tracing()).unwrap_err();
    let XenError::Call { call, source } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(*call, "xc_interface_open");
    assert_eq!(source.raw_os_error(), Some(libc::ENOENT), "{source}");
}

/// On a real dom0: a vCPU of a domain that does not exist is an error naming the domain and
/// the vCPU, with the failed call (and libxenctrl's message, when it left one) as its source.
#[test]
fn a_vcpu_of_no_domain_names_domain_vcpu_and_call() {
    let Some(ctrl) = installed::<xen_sys::v4_17::xenctrl::XenCtrlFns>() else {
        return;
    };
    if !on_xen() {
        return;
    }
    let xc = XcInterface::open(ctrl, XtlLogger::tracing()).unwrap();
    let err = xc.vcpu(DomId(0x7FEF), 0).unwrap_err();
    let XenError::Vcpu {
        domid,
        vcpu,
        source,
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!((*domid, *vcpu), (DomId(0x7FEF), 0));
    assert!(
        matches!(
            **source,
            XenError::Call {
                call: "xc_vcpu_getinfo",
                ..
            } | XenError::Libxc {
                call: "xc_vcpu_getinfo",
                ..
            }
        ),
        "{source:?}"
    );
}

#[test]
fn xenstat_init_fails_without_a_hypervisor() {
    let Some(stat) = installed::<xen_sys::v4_17::xenstat::XenStatFns>() else {
        return;
    };
    if on_xen() {
        return;
    }
    // libxenstat prints its own perror line to stderr here; XenBackend avoids that by
    // checking for a dom0 first.
    let err = XenStatHandle::open(stat).unwrap_err();
    assert!(
        matches!(
            err,
            XenError::Call {
                call: "xenstat_init",
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn libxl_ctx_alloc_fails_with_a_libxl_code_without_a_hypervisor() {
    let Some(light) = installed::<xen_sys::v4_17::xenlight::XenLightFns>() else {
        return;
    };
    match LibxlCtx::open(light, XtlLogger::tracing()) {
        Err(err) => {
            assert!(!on_xen(), "{err}");
            let XenError::Libxl { call, code } = &err else {
                panic!("{err:?}")
            };
            assert_eq!((*call, *code), ("libxl_ctx_alloc", -3));
            assert_eq!(
                err.to_string(),
                "libxl_ctx_alloc failed: libxl error -3 (ERROR_FAIL)"
            );
        }
        Ok(ctx) => {
            assert!(on_xen());
            let domains = ctx.list_domains().unwrap();
            assert_eq!(domains.first().map(|d| d.domid), Some(DomId(0)));
            assert_eq!(
                ctx.domid_to_name(DomId(0)).as_deref(),
                Some(&b"Domain-0"[..])
            );
            assert_eq!(ctx.name_to_domid("Domain-0").unwrap(), Some(DomId(0)));
            assert_eq!(ctx.name_to_domid("no such domain, surely").unwrap(), None);
        }
    }
}

#[test]
fn xenstore_without_xenstored_fails_with_errno() {
    let Some(store) = installed::<xen_sys::v4_17::xenstore::XenStoreFns>() else {
        return;
    };
    match XenStoreHandle::open(store) {
        Err(err) => {
            assert!(!on_xen(), "{err}");
            let XenError::Call { call, source } = &err else {
                panic!("{err:?}")
            };
            assert_eq!(*call, "xs_open");
            assert!(source.raw_os_error().is_some(), "{source}");
        }
        Ok(store) => {
            assert!(on_xen());
            assert_eq!(
                store.read("/local/domain/0/name").unwrap().as_deref(),
                Some(&b"Domain-0"[..])
            );
            assert_eq!(store.read("/xenadm/surely/missing").unwrap(), None);
            assert_eq!(store.domain_path(DomId(0)).unwrap(), "/local/domain/0");
            let children = store.directory("/local/domain").unwrap().unwrap();
            assert!(children.iter().any(|c| c == b"0"));
        }
    }
}

#[test]
fn the_stdio_logger_is_created_and_destroyed() {
    let Some(toollog) = installed::<xen_sys::v4_17::xentoollog::XenToolLogFns>() else {
        return;
    };
    let fds_before = std::fs::read_dir("/proc/self/fd").unwrap().count();
    // Made and destroyed again and again: each closes its duplicate of stderr.
    for _ in 0..100 {
        drop(XtlLogger::stderr(Arc::clone(&toollog), LogLevel::Critical, true).unwrap());
    }
    // Other tests run in parallel threads and may hold a few descriptors of their own.
    let fds_after = std::fs::read_dir("/proc/self/fd").unwrap().count();
    assert!(
        fds_after < fds_before + 50,
        "{fds_before} -> {fds_after}: descriptors leak"
    );
}
