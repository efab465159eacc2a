//! Golden test of the Prometheus exposition, a checker of the text format's rules, and (when
//! installed) Prometheus's own `promtool check metrics`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use xen_core::host::{DomId, DomainName, DomainState, DomainStats, Sample, VbdStats};
use xen_core::render::prometheus::{self, Scrape};

/// The host of tests/data/xen-real-net as its second `xentop -b -d 1 -i 2 -n -x -v -f`
/// iteration and `xl info` showed it (`prometheus/README.md`, [`test_support::samples`]),
/// plus a guest with an awkward name that exercises escaping.
fn real_host_sample() -> Sample {
    let mut odd = DomainStats::default();
    odd.domid = DomId(7);
    odd.name = DomainName::new(&b"Windows7 (Dev) \"q\" back\\slash\nnew\xfeline"[..]);
    odd.state = DomainState::SHUTDOWN | DomainState::CRASHED;
    odd.cpu_time_ns = 1_234_567_891;
    odd.memory_kib = 4;
    odd.max_memory_kib = None;
    let mut failed = VbdStats::default();
    failed.devid = 51712;
    failed.error = true;
    odd.vbds = vec![failed];

    let mut sample = test_support::samples::real_host();
    sample.domains.push(odd);
    sample
}

fn data(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/prometheus")
        .join(name)
}

/// Checks the rules of the text format 0.0.4 and of Prometheus naming, returning the series.
fn check_exposition(text: &str) -> BTreeMap<String, String> {
    assert!(text.ends_with('\n'), "ends with a newline");
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut helps = BTreeSet::new();
    let mut finished_families = BTreeSet::new();
    let mut current: Option<String> = None;
    let mut series = BTreeMap::new();
    for (number, line) in text.lines().enumerate() {
        let at = format!("line {}: {line:?}", number + 1);
        if let Some(rest) = line.strip_prefix("# ") {
            let (keyword, rest) = rest.split_once(' ').expect(&at);
            let (name, value) = rest.split_once(' ').expect(&at);
            check_metric_name(name, &at);
            if current.as_deref() != Some(name) {
                if let Some(done) = current.replace(name.to_string()) {
                    finished_families.insert(done);
                }
                assert!(!finished_families.contains(name), "family split: {at}");
            }
            match keyword {
                "HELP" => {
                    assert!(helps.insert(name.to_string()), "second HELP: {at}");
                    assert!(!value.is_empty(), "{at}");
                }
                "TYPE" => {
                    assert!(
                        ["counter", "gauge", "histogram", "summary", "untyped"].contains(&value),
                        "{at}"
                    );
                    assert!(
                        types.insert(name.to_string(), value.into()).is_none(),
                        "second TYPE: {at}"
                    );
                    assert_eq!(
                        value == "counter",
                        name.ends_with("_total"),
                        "counters and only counters end in _total: {at}"
                    );
                }
                _ => panic!("unknown comment: {at}"),
            }
            continue;
        }
        let (name, labels, value) = split_sample(line, &at);
        assert_eq!(
            current.as_deref(),
            Some(name),
            "sample outside its family: {at}"
        );
        assert!(types.contains_key(name), "sample before its TYPE: {at}");
        value.parse::<f64>().expect(&at);
        let key = format!("{name}{{{}}}", labels.join(","));
        assert!(
            series.insert(key, value.to_string()).is_none(),
            "duplicate series: {at}"
        );
    }
    series
}

fn check_metric_name(name: &str, at: &str) {
    let mut chars = name.chars();
    let first = chars.next().expect(at);
    assert!(
        first.is_ascii_alphabetic() || first == '_' || first == ':',
        "{at}"
    );
    assert!(
        chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
        "{at}"
    );
    assert!(name.starts_with("xen_"), "namespace: {at}");
}

/// `name{a="x",b="y"} value`: the name, the labels sorted (unescaped values), the value.
fn split_sample<'a>(line: &'a str, at: &str) -> (&'a str, Vec<String>, &'a str) {
    let Some(brace) = line.find('{') else {
        let (name, value) = line.split_once(' ').expect(at);
        check_metric_name(name, at);
        return (name, Vec::new(), value);
    };
    let name = &line[..brace];
    check_metric_name(name, at);
    let mut labels = Vec::new();
    let mut rest = &line[brace + 1..];
    loop {
        let eq = rest.find('=').expect(at);
        let label = &rest[..eq];
        assert!(
            !label.is_empty()
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !label.starts_with("__")
                && !label.starts_with(|c: char| c.is_ascii_digit()),
            "label name {label:?}: {at}"
        );
        rest = rest[eq + 1..].strip_prefix('"').expect(at);
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            let (i, c) = chars.next().expect(at);
            match c {
                '"' => break i,
                '\\' => match chars.next().expect(at).1 {
                    '\\' => value.push('\\'),
                    '"' => value.push('"'),
                    'n' => value.push('\n'),
                    other => panic!("bad escape \\{other}: {at}"),
                },
                '\n' => panic!("raw newline: {at}"),
                c => value.push(c),
            }
        };
        labels.push(format!("{label}={value:?}"));
        rest = &rest[end + 1..];
        if let Some(after) = rest.strip_prefix(',') {
            rest = after;
        } else {
            let value = rest.strip_prefix("} ").expect(at);
            let mut sorted = labels.clone();
            sorted.sort();
            assert_eq!(
                sorted
                    .windows(2)
                    .filter(|w| w[0].split('=').next() == w[1].split('=').next())
                    .count(),
                0,
                "repeated label: {at}"
            );
            return (name, sorted, value);
        }
    }
}

fn render() -> String {
    prometheus::to_string(&Scrape::ok(
        &real_host_sample(),
        Duration::from_micros(2345),
    ))
}

#[test]
fn test_golden_exposition() {
    // XENADM_UPDATE_GOLDEN=1 rewrites the file after a deliberate change; review the diff.
    if std::env::var_os("XENADM_UPDATE_GOLDEN").is_some_and(|v| v == "1") {
        std::fs::write(data("xen-real.prom"), render()).unwrap();
    }
    let golden = std::fs::read_to_string(data("xen-real.prom")).unwrap();
    assert_eq!(render(), golden);
}

#[test]
fn test_exposition_follows_the_format_rules() {
    let series = check_exposition(&render());
    // Spot checks against the capture, guest's view: xentop's Net0 TX (3934 bytes) is what
    // web1 received.
    assert_eq!(
        series[r#"xen_domain_network_receive_bytes_total{devid="0",domain="web1",domid="1"}"#],
        "3934"
    );
    assert_eq!(
        series[r#"xen_domain_block_read_bytes_total{devid="51728",domain="web1",domid="1"}"#],
        (200 * 512).to_string()
    );
    let odd = "Windows7 (Dev) \"q\" back\\slash\nnew\u{fffd}line";
    let key = format!("xen_domain_cpu_seconds_total{{domain={odd:?},domid=\"7\"}}");
    assert_eq!(series[&key], "1.234567891");
    assert_eq!(series["xen_up{}"], "1");
}

#[test]
fn test_failed_scrape_follows_the_format_rules() {
    let text = prometheus::to_string(&Scrape::failed(Duration::from_millis(40)));
    let series = check_exposition(&text);
    assert_eq!(series.len(), 2);
    assert_eq!(series["xen_up{}"], "0");
}

#[test]
fn test_the_checker_rejects_broken_text() {
    for broken in [
        "# TYPE xen_a_total gauge\nxen_a_total 1\n",
        "# TYPE xen_a counter\nxen_a 1\n",
        "# TYPE xen_a gauge\nxen_a{x=\"1\\t\"} 1\n",
        "# TYPE xen_a gauge\nxen_a 1\n# TYPE xen_b gauge\nxen_b 1\nxen_a 2\n",
        "# TYPE xen_a gauge\nxen_a 1\nxen_a 1\n",
        "xen_a 1\n",
        "# TYPE xen_a gauge\nxen_a{x=\"1\",x=\"2\"} 1\n",
    ] {
        let result = std::panic::catch_unwind(|| check_exposition(broken));
        assert!(result.is_err(), "accepted: {broken:?}");
    }
}

/// Prometheus's own linter, from Debian's `prometheus` package.
#[test]
fn test_promtool_check_metrics_accepts_the_exposition() {
    if !test_support::tools::have_tool("promtool") {
        return;
    }
    for text in [
        render(),
        prometheus::to_string(&Scrape::failed(Duration::ZERO)),
    ] {
        let mut child = Command::new("promtool")
            .args(["check", "metrics"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
            "promtool: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
