//! xl save files and live migration streams: parse, write, inspect, verify, relay. Pure Rust,
//! no Xen library needed.
//!
//! What `xl save` writes and `xl migrate` sends is one byte stream of three layers (reference
//! `migration.md` §1.4, §2): the xl save header with the domain config as JSON, then a libxl
//! v2 stream whose LIBXC_CONTEXT record is followed, unframed, by a libxc v2/v3 stream up to
//! its own END, then the rest of the libxl records and the libxl END. A legacy (Xen 4.5 and
//! older) stream is recognised and reported as such, not decoded.
//!
//! * [`StreamParser`]: incremental, fed chunks of any size, bounded memory, zero-copy page
//!   payloads; it reports [`Located`] items (typed headers and records with their offset and
//!   layer) and located [`StreamError`]s.
//! * [`StreamWriter`] / [`encode`]: items back to bytes; [`SyntheticGuest`] builds valid PV and
//!   HVM streams.
//! * [`Inspector`] ([`StreamSummary`]: guest, pages per pre-copy iteration, histogram),
//!   [`Verifier`] ([`VerifyReport`]: `verify-stream-v2`'s checks and more), [`analyze_reader`]
//!   for both in one pass.
//! * [`relay`]: bytes in, the same bytes out, records observed on the side.
//!
//! Limits: a stream is outside input (a migration peer), so every reader here works in memory
//! that does not grow with the stream's length and in time linear in it. The parser holds at
//! most one record ([`MAX_RECORD_BODY_BYTES`]); the [`Verifier`] keeps the first
//! [`MAX_KEPT_PROBLEMS`] problems and warnings and counts the rest
//! ([`VerifyReport::problems_omitted`]); the [`Inspector`] keeps the first
//! [`MAX_KEPT_ITERATIONS`]` - 1` pre-copy passes and the latest, adding up the ones between
//! ([`StreamSummary::omitted_iterations`]), and tracks at most [`MAX_TRACKED_VCPUS`] vCPU ids.
//!
//! ```
//! use xen_core::stream::{SyntheticGuest, analyze_bytes};
//!
//! let bytes = SyntheticGuest::pv("web1", 2048, 2)
//!     .with_dirty_passes(vec![vec![5, 9, 700], vec![9]])
//!     .encode()?;
//! let analysis = analyze_bytes(&bytes.into());
//! assert!(analysis.report.ok, "{:?}", analysis.report.problems);
//! let summary = analysis.summary;
//! assert_eq!(summary.guest.and_then(|g| g.name).as_deref(), Some("web1"));
//! let pfns: Vec<u64> = summary.iterations.iter().map(|i| i.pfns).collect();
//! assert_eq!(pfns, [2048, 3, 1]);
//! # Ok::<(), xen_core::XenError>(())
//! ```

mod config;
mod error;
mod format;
mod headers;
mod inspect;
mod libxc_record;
mod libxl_record;
mod page;
mod parser;
mod relay;
mod report;
mod synthetic;
mod verify;
mod writer;

pub use config::GuestConfig;
pub use error::{Layer, StreamError, StreamErrorKind};
pub use format::{
    MAX_BATCH_PFNS, MAX_RECORD_BODY_BYTES, MAX_XL_OPTIONAL_DATA_BYTES, PAGE_BYTES, XL_GO_MESSAGE,
    XL_MAGIC,
};
pub use headers::{
    DomainHeader, DomainType, ImageHeader, ImageOptions, LibxlHeader, LibxlOptions, XlHeader,
    XlMandatoryFlags,
};
pub use inspect::{
    Inspector, IterationStats, LibxcSummary, MAX_KEPT_ITERATIONS, MAX_TRACKED_VCPUS,
    OmittedIterations, RecordStats, StreamSummary, Totals, XlSummary, record_name,
};
pub use libxc_record::{
    CpuidLeaf, HvmParams, LibxcRecord, LibxcRecordType, MsrEntry, P2mFrames, PvInfo, PvVcpu,
    TscInfo,
};
pub use libxl_record::{EmulatorId, EmulatorRecord, LibxlRecord, LibxlRecordType};
pub use page::{PageData, PageType, PfnWord};
pub use parser::{Item, Located, ParseOptions, PayloadMode, RecordFrame, StreamParser};
pub use relay::{
    Analysis, READ_CHUNK_BYTES, RelayEvent, RelayReport, analyze_bytes, analyze_reader,
    parse_reader, relay,
};
pub use report::{InspectReport, RelayWatch, VerifyOutcome, analyze_file};
pub use synthetic::SyntheticGuest;
pub use verify::{MAX_KEPT_PROBLEMS, Problem, Verifier, VerifyReport};
pub use writer::{StreamWriter, encode};
