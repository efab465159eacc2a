//! Any bytes as a vhostmd.conf: the checker must return a configuration or an error located
//! by line, column and byte offset, never panic.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use vhostmd::{Config, VhostmdError};

fuzz_target!(|data: &[u8]| {
    match Config::parse(data, Path::new("fuzz.conf")) {
        Ok(config) => {
            assert!(config.update_period_secs >= 1);
            assert!((1024..=256 * 1024 * 1024).contains(&config.disk.size_bytes));
        }
        Err(VhostmdError::Config {
            line,
            column,
            offset,
            ..
        }) => assert!(line >= 1 && column >= 1 && offset <= data.len()),
        Err(other) => panic!("unexpected error kind: {other}"),
    }
});
