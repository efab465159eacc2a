//! Loads the Xen libraries installed on this machine (Debian: libxen-dev or libxenmisc4.17),
//! through the system path and through XENADM_XEN_LIBDIR-style folder search. Skips when they
//! are missing, unless XENADM_REQUIRE_TOOLS=1.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use xen_sys::{LoadOptions, Loaded, Origin, XenLibrary, XenSysError};

/// Loads one library from the system path, or skips.
fn system<F: xen_sys::FnTable>() -> Option<Loaded<F>> {
    match Loaded::<F>::load_with(&LoadOptions::default()) {
        Ok(loaded) => Some(loaded),
        Err(err @ (XenSysError::NotFound { .. } | XenSysError::UnsupportedVersion { .. })) => {
            common::skip(&format!("Xen libraries not installed: {err}"));
            None
        }
        Err(err) => panic!("{err}"),
    }
}

fn check_origin(origin: &Origin, library: XenLibrary) {
    assert_eq!(origin.library, library);
    let path = origin.path.as_ref().expect("dladdr names the mapped file");
    assert!(path.is_absolute() && path.exists(), "{}", path.display());
    let file = path.file_name().unwrap().to_str().unwrap();
    assert!(file.starts_with(library.stem()), "{file}");
    match library.scheme() {
        xen_sys::SonameScheme::PerRelease => {
            let version = origin
                .xen_version
                .expect("per-release libraries know their release");
            assert!(version.is_supported(), "{version}");
            assert_eq!(origin.candidate, format!("{}.so.{version}", library.stem()));
        }
        xen_sys::SonameScheme::Stable { major } => {
            assert_eq!(origin.xen_version, None);
            assert_eq!(origin.candidate, format!("{}.so.{major}", library.stem()));
        }
    }
}

#[test]
fn every_library_loads_by_versioned_soname() {
    let Some(toollog) = system::<xen_sys::v4_17::xentoollog::XenToolLogFns>() else {
        return;
    };
    check_origin(toollog.origin(), XenLibrary::XenToolLog);
    let store = system::<xen_sys::v4_17::xenstore::XenStoreFns>().unwrap();
    check_origin(store.origin(), XenLibrary::XenStore);
    let ctrl = system::<xen_sys::v4_17::xenctrl::XenCtrlFns>().unwrap();
    check_origin(ctrl.origin(), XenLibrary::XenCtrl);
    let stat = system::<xen_sys::v4_17::xenstat::XenStatFns>().unwrap();
    check_origin(stat.origin(), XenLibrary::XenStat);
    let light = system::<xen_sys::v4_17::xenlight::XenLightFns>().unwrap();
    check_origin(light.origin(), XenLibrary::XenLight);
    let guest = system::<xen_sys::v4_17::xenguest::XenGuestFns>().unwrap();
    check_origin(guest.origin(), XenLibrary::XenGuest);
    let evtchn = system::<xen_sys::v4_17::xenevtchn::XenEvtchnFns>().unwrap();
    check_origin(evtchn.origin(), XenLibrary::XenEvtchn);
    // All per-release libraries come from the same release.
    assert_eq!(ctrl.origin().xen_version, stat.origin().xen_version);
    assert_eq!(ctrl.origin().xen_version, light.origin().xen_version);
    assert_eq!(ctrl.origin().xen_version, guest.origin().xen_version);
}

#[test]
fn the_installed_folder_works_as_lib_dir() {
    let Some(stat) = system::<xen_sys::v4_17::xenstat::XenStatFns>() else {
        return;
    };
    let dir = stat
        .origin()
        .path
        .as_ref()
        .unwrap()
        .parent()
        .unwrap()
        .to_owned();
    let options = LoadOptions::in_dir(&dir);
    for library in XenLibrary::ALL {
        let origin = xen_sys::probe(library, &options).unwrap();
        assert!(
            origin.candidate.starts_with(&dir.display().to_string()),
            "{library} loaded from {} instead of {}",
            origin.candidate,
            dir.display()
        );
    }
    let ctrl = xen_sys::XenCtrl::load_with(&options).unwrap();
    check_origin_dir(ctrl.origin(), &dir);
}

fn check_origin_dir(origin: &Origin, dir: &std::path::Path) {
    let version = origin.xen_version.unwrap();
    assert_eq!(
        origin.candidate,
        dir.join(format!("libxenctrl.so.{version}"))
            .display()
            .to_string()
    );
}
