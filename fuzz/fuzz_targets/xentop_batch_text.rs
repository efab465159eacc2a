//! Any bytes as `xentop -b` output (the first byte chooses `-r` parsing): the parser and the
//! sample reconstruction must return a value or a located error, never panic; what they
//! accept renders (with `-f -n -x -v`, no `-r`) to text that reconstructs to the same text again.

#![no_main]

use libfuzzer_sys::fuzz_target;
use xen_core::host::capture::{ReconstructOptions, parse_xentop_batch};
use xen_core::host::{Interval, Sample};
use xen_core::render::xentop::{self, BatchOptions};

fn render(samples: &[Sample], options: &BatchOptions) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, sample) in samples.iter().enumerate() {
        let previous = k.checked_sub(1).map(|p| &samples[p]);
        xentop::write_iteration(&mut out, &Interval::new(previous, sample), options)
            .expect("writing to memory");
    }
    out
}

fuzz_target!(|input: &[u8]| {
    let Some((&mode, data)) = input.split_first() else {
        return;
    };
    let repeated = mode & 1 == 1;
    let Ok(batch) = parse_xentop_batch(data, repeated) else {
        return;
    };
    let Ok(samples) = batch.to_samples(&ReconstructOptions::default()) else {
        return;
    };
    // An iteration without domains prints nothing, so it cannot survive a round trip.
    if samples.iter().any(|s| s.domains.is_empty()) {
        return;
    }
    let mut options = BatchOptions::default();
    options.full_names = true;
    options.networks = true;
    options.vbds = true;
    options.vcpus = true;
    // Without -r: with it, iteration boundaries are guessed from repeated names, which the
    // sorted re-rendering does not keep.
    let first = render(&samples, &options);
    let batch = parse_xentop_batch(&first, false).expect("rendered xentop text parses");
    let mut same_host = ReconstructOptions::default();
    same_host.total_memory_kib = samples.first().map(|s| s.node.total_memory_kib);
    let again = batch
        .to_samples(&same_host)
        .expect("rendered xentop text reconstructs");
    assert_eq!(render(&again, &options), first);
});
