//! Shared by the host-view commands: opening the Xen host, and hints for Xen errors.

/// What the administrator can do about a xen-core error.
pub fn hint(_err: &xen_core::XenError) -> Option<&'static str> {
    None
}
