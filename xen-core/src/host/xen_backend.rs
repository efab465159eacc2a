//! The real backend: libxenstat and libxenctrl through `xen-sys`. (Being built: issue 7.)

use crate::XenError;
use crate::host::backend::HostBackend;
use crate::host::model::{HostInfo, Sample, SampleFlags};

/// Reads the running Xen host through its libraries.
#[derive(Debug)]
pub struct XenBackend {
    _private: (),
}

impl XenBackend {
    /// Opens the Xen libraries and the hypervisor interfaces.
    pub fn open() -> Result<XenBackend, XenError> {
        Err(XenError::Call {
            call: "xenstat_init",
            source: std::io::Error::from(std::io::ErrorKind::Unsupported),
        })
    }
}

impl HostBackend for XenBackend {
    fn host_info(&mut self) -> Result<HostInfo, XenError> {
        Err(XenError::Call {
            call: "xc_physinfo",
            source: std::io::Error::from(std::io::ErrorKind::Unsupported),
        })
    }

    fn sample(&mut self, _flags: SampleFlags) -> Result<Sample, XenError> {
        Err(XenError::Call {
            call: "xenstat_get_node",
            source: std::io::Error::from(std::io::ErrorKind::Unsupported),
        })
    }
}
