//! Helpers the tests of several xenadm crates share, so that each is written once: trees of
//! files standing in for `/sys` and `/proc`, the real Xen captures kept in
//! `xen-core/tests/data`, pseudo-random file contents and checksums, and the "skip here, fail
//! in CI" rule for tests that need an external tool.
//!
//! Only tests use this crate (it is never published). Its helpers panic on failure: a panic
//! there is a failed test.

#![forbid(unsafe_code)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

pub mod captures;
pub mod ext2;
pub mod files;
pub mod loops;
pub mod netns;
#[cfg(feature = "samples")]
pub mod samples;
pub mod tools;
pub mod tree;
