//! A VM name cannot run commands on the host, wherever NAME stands in an action.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

use std::path::Path;

use vhostmd::{CollectOptions, Collecting, Config, Vm};

#[test]
fn test_hostile_vm_names_run_nothing_and_print_themselves() {
    let dir = tempfile::tempdir().unwrap();
    let pwned = dir.path().join("pwned");
    let p = pwned.display().to_string();
    let names = [
        format!("x;touch {p}"),
        format!("x$(touch {p})"),
        format!("x`touch {p}`"),
        format!("x';touch {p};'"),
        format!("x\";touch {p};\""),
        format!("x\ntouch {p}"),
        format!("x|touch {p}&"),
    ];
    let actions = [
        "printf %s NAME",
        "printf %s \"NAME\"",
        "printf %s 'NAME'",
        "printf %s $(printf %s NAME)",
        "printf %s \"$(printf %s NAME)\"",
        "printf %s `printf %s NAME`",
        "printf \"%s\" \"<NAME>\" | tr -d '<>'",
    ];
    let mut metrics = String::new();
    for (i, action) in actions.iter().enumerate() {
        let action = action.replace('&', "&amp;").replace('<', "&lt;");
        metrics.push_str(&format!(
            "<metric type='string' context='vm'><name>M{i}</name><action>{action}</action></metric>"
        ));
    }
    let conf = format!(
        "<vhostmd><globals><disk><name/><path/><size unit='k'>64</size></disk>\
         <update_period>1</update_period><path>/usr/bin:/bin</path><transport>vbd</transport>\
         </globals><metrics>{metrics}</metrics></vhostmd>"
    );
    let config = Config::parse(conf.as_bytes(), Path::new("c")).unwrap();
    let vms: Vec<Vm> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            Vm::new(
                u32::try_from(i).unwrap() + 1,
                n.clone(),
                format!("uuid-{i}"),
            )
        })
        .collect();
    let mut collecting =
        Collecting::new(config, CollectOptions::default().with_action_stderr(false));
    let update = collecting.collect(&vms);
    assert!(!pwned.exists(), "a VM name ran a command");
    assert!(update.errors.is_empty(), "{:?}", update.errors);
    let doc = vhostmd::MetricsDocument::parse(update.document().as_bytes()).unwrap();
    for vm in &vms {
        for (i, action) in actions.iter().enumerate() {
            let m = doc.vm(&format!("M{i}"), &vm.uuid).unwrap();
            // Command substitution drops trailing newlines; everything else is the name.
            let want = if action.contains('$') || action.contains('`') {
                vm.name.trim_end_matches('\n')
            } else {
                vm.name.as_str()
            };
            // `$(...)` unquoted splits words; compare without whitespace differences there.
            if *action == "printf %s $(printf %s NAME)" || *action == "printf %s `printf %s NAME`" {
                let squash = |s: &str| s.split_whitespace().collect::<String>();
                assert_eq!(squash(&m.value), squash(want), "action {action}");
            } else {
                assert_eq!(m.value, want, "action {action}");
            }
        }
    }
}

#[test]
fn test_here_document_with_hostile_name_is_refused() {
    let conf = "<vhostmd><globals><disk><name/><path/><size unit='k'>64</size></disk>\
         <update_period>1</update_period><path/><transport>vbd</transport>\
         </globals><metrics><metric type='string' context='vm'><name>H</name>\
         <action>cat &lt;&lt;EOF\nNAME\nEOF</action></metric></metrics></vhostmd>";
    let config = Config::parse(conf.as_bytes(), Path::new("c")).unwrap();
    let mut collecting =
        Collecting::new(config, CollectOptions::default().with_action_stderr(false));
    let update = collecting.collect(&[Vm::new(1, "$(id)", "u")]);
    assert_eq!(update.errors.len(), 1);
    assert!(
        update.errors[0]
            .to_string()
            .contains("cannot be quoted safely")
    );
    let update = collecting.collect(&[Vm::new(1, "plain", "u")]);
    assert!(update.errors.is_empty());
    assert!(update.document().contains("<value>plain\n</value>"));
}
