//! Set-up the migration tests share (tests/migrate_protocol.rs, tests/migrate_beyond.rs): the
//! guest on a fake source host, socket-pair ends as files, and xenadm's sender run over two
//! streams as `xenadm migrate` runs it once its transport is connected.

use std::fs::File;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;

use xen_core::migrate::{
    self, Breaker, Control, FakeHost, ProgressSink, SendOptions, SendResult, Transport,
};

/// The guest that migrates.
pub const NAME: &str = "web1";

/// A socket-pair end as the `File` a receiver reads its input from.
pub fn file_of(stream: UnixStream) -> File {
    File::from(OwnedFd::from(stream))
}

/// A source host running the guest with `pages` pages of memory, and an empty target.
pub fn hosts(pages: u64) -> (FakeHost, FakeHost) {
    let source = FakeHost::new();
    source.add_guest(NAME, pages);
    (source, FakeHost::new())
}

/// The sender on `source`: prepares the guest `options` names, then migrates it over `to`
/// (towards the receiver) and `from` (its answers); `breaker` shuts the streams when `control`
/// cancels, as a killed ssh would.
pub fn send_over_streams(
    source: &FakeHost,
    options: &SendOptions,
    (to, from): (UnixStream, UnixStream),
    breaker: Option<Breaker>,
    control: &Control,
    sink: ProgressSink,
) -> SendResult {
    let mut backend = source.backend();
    let prepared = migrate::prepare(&mut backend, options).unwrap();
    let transport = Transport::from_streams(Box::new(to), Box::new(from), breaker, "socket pair");
    migrate::send_over(&mut backend, &prepared, options, transport, control, sink)
}
