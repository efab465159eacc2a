//! Any bytes as a migration target's answer: the probe's JSON (`TargetFacts::from_json`) and
//! the stock script's output (`preflight::stock::parse`) must give facts or a located error,
//! never panic; facts that parsed must judge a guest without panicking, and JSON facts must
//! round-trip.

#![no_main]

use libfuzzer_sys::fuzz_target;
use xen_core::preflight::{GuestFacts, SourceFacts, TargetFacts, evaluate, stock};

fuzz_target!(|data: &[u8]| {
    let mut guest = GuestFacts::default();
    guest.name = "g".into();
    guest.domain_type = "pv".into();
    if let Ok(facts) = TargetFacts::from_json("fuzz", data) {
        let json = serde_json::to_vec(&facts).expect("facts serialise");
        assert_eq!(TargetFacts::from_json("fuzz", &json).expect("round trip"), facts);
        guest.cpu_policy = facts.pv_max.clone();
        let _ = evaluate("fuzz", &SourceFacts::default(), &guest, Ok(&facts));
    }
    let text = String::from_utf8_lossy(data);
    let paths = vec!["/a".to_owned()];
    if let Ok(facts) = stock::parse("fuzz", &paths, &text) {
        assert_eq!(facts.disks.len(), 1);
        let _ = evaluate("fuzz", &SourceFacts::default(), &guest, Ok(&facts));
    }
});
