//! xenadm's own pre-copy engine (`xenadm migrate --engine xenadm`): the step that libxl's
//! `libxl_domain_suspend` does on the libxl path, done over libxenguest's `xc_domain_save`
//! with xenadm's policy. Everything around it (the handshake, the pump, the receiver, the
//! preflight, the progress and the rollback) stays the same.
//!
//! | file | purpose |
//! |---|---|
//! | [`policy`] | the pre-copy policy as pure logic: downtime target, pass limit, auto-converge |
//! | `backend` | [`EngineBackend`]: the libxl backend with the engine's suspend and save |

mod backend;
pub mod policy;

pub use backend::{EngineBackend, SUSPEND_TIMEOUT};
