//! Any bytes as `xl list` output: the parser must return domains or a located error, never
//! panic; what it accepts renders to text that parses back to the same domains.

#![no_main]

use libfuzzer_sys::fuzz_target;
use xen_core::host::capture::parse_xl_list;
use xen_core::render::xl_list;

fuzz_target!(|data: &[u8]| {
    let Ok(domains) = parse_xl_list(data) else {
        return;
    };
    let mut text = Vec::new();
    xl_list::write(&mut text, &domains).expect("writing to memory");
    let again = parse_xl_list(&text).expect("rendered `xl list` text parses");
    assert_eq!(again.len(), domains.len());
    for (a, b) in domains.iter().zip(&again) {
        assert_eq!(a.name, b.name);
        assert_eq!(a.domid, b.domid);
        assert_eq!(a.memory_kib, b.memory_kib);
        assert_eq!(a.online_vcpus, b.online_vcpus);
        assert_eq!(a.state, b.state);
        // xl rounds the time through a float: exact to the tenth below 2^48 ns (3.2 days).
        if a.cpu_time_ns < 1 << 48 {
            assert_eq!(a.cpu_time_ns, b.cpu_time_ns);
        }
    }
});
