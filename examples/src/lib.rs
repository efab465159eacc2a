//! Programs that embed the xenadm crates, as another Rust tool would. Each program in
//! `src/bin/` is self-contained; run one with
//! `cargo run -p xenadm-examples --bin pool-mask -- DUMP...`.

#![forbid(unsafe_code)]
