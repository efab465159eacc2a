//! Properties of the /etc/default/grub model: for any input the parser accepts, printing
//! gives back the same bytes; an edit changes only the value span of the one variable; the
//! other parsers never panic.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

use std::path::Path;

use grub_cfg::{BootConfig, DefaultGrub, GrubCfgError, GrubEnv, Menu, SetOptions, XenVariable};
use proptest::prelude::*;

fn shellish() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[ a-zA-Z0-9_=\"'\\\\$`{}()#;&|<>!*?~\n\t.,:+-]{0,160}").unwrap()
}

/// One line of a realistic file.
fn line() -> impl Strategy<Value = String> {
    let name = proptest::sample::select(vec![
        "GRUB_CMDLINE_XEN",
        "GRUB_CMDLINE_XEN_DEFAULT",
        "GRUB_DEFAULT",
        "GRUB_TIMEOUT",
        "A",
    ]);
    let value = || proptest::string::string_regex("[a-z0-9=,.:/ -]{0,24}").unwrap();
    prop_oneof![
        proptest::string::string_regex("#[ -~]{0,30}").unwrap(),
        Just(String::new()),
        (name.clone(), value()).prop_map(|(n, v)| format!("{n}=\"{v}\"")),
        (name.clone(), value()).prop_map(|(n, v)| format!("{n}='{v}'  # c")),
        (name.clone(), "[a-z0-9=,.:-]{0,12}").prop_map(|(n, v)| format!("{n}={v}")),
        (name.clone(), value(), value()).prop_map(|(n, a, b)| format!("{n}=\"{a} \\\n{b}\"")),
        name.prop_map(|n| format!("export {n}=\"x y\"")),
    ]
}

fn file() -> impl Strategy<Value = String> {
    (proptest::collection::vec(line(), 0..12), any::<bool>()).prop_map(|(lines, newline)| {
        let mut text = lines.join("\n");
        if newline && !text.is_empty() {
            text.push('\n');
        }
        text
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn prop_print_of_parse_is_identity(text in shellish()) {
        match DefaultGrub::parse(text.as_bytes(), Path::new("f")) {
            Ok(file) => {
                prop_assert_eq!(file.print(), text.clone());
                prop_assert_eq!(file.to_string(), text);
                // Evaluation is total too.
                let _ = BootConfig::from_files(vec![file], None).unwrap().variables();
            }
            Err(GrubCfgError::Parse { line, column, .. }) => {
                prop_assert!(line >= 1 && line <= text.lines().count() + 1);
                prop_assert!(column >= 1);
            }
            Err(other) => prop_assert!(false, "unexpected error {other}"),
        }
    }

    #[test]
    fn prop_realistic_files_round_trip(text in file()) {
        let file = DefaultGrub::parse(text.as_bytes(), Path::new("f")).unwrap();
        prop_assert_eq!(file.print(), text);
    }

    #[test]
    fn prop_set_value_changes_only_that_value(
        text in file(),
        name in proptest::sample::select(vec!["GRUB_CMDLINE_XEN", "GRUB_DEFAULT", "A"]),
        value in "[ -~]{0,20}",
    ) {
        let file = DefaultGrub::parse(text.as_bytes(), Path::new("f")).unwrap();
        let before = file.assignments().into_iter().rev().find(|a| a.name == name);
        let edited = file.set_value(name, &value).unwrap();
        let new = edited.text();
        match before {
            Some(a) => {
                // Same bytes before and after the value span.
                prop_assert_eq!(&new[..a.value_span.start], &text[..a.value_span.start]);
                let tail = &text[a.value_span.end..];
                prop_assert!(new.ends_with(tail));
            }
            None => {
                // Appended at the end, or a commented example (`#NAME=...`) made the
                // assignment in place, every other line kept.
                let appended = new.starts_with(text.trim_end_matches(|c| c != '\n'));
                let (old_lines, new_lines): (Vec<_>, Vec<_>) =
                    (text.split('\n').collect(), new.split('\n').collect());
                let changed: Vec<usize> = (0..old_lines.len().min(new_lines.len()))
                    .filter(|&i| old_lines[i] != new_lines[i])
                    .collect();
                let uncommented = old_lines.len() == new_lines.len()
                    && changed.len() == 1
                    && old_lines[changed[0]].starts_with('#')
                    && new_lines[changed[0]].starts_with(&format!("{name}="));
                prop_assert!(appended || uncommented, "{:?} -> {:?}", text, new);
            }
        }
        let config = BootConfig::from_files(vec![edited], None).unwrap();
        prop_assert_eq!(config.variable(name).value, Some(value));
    }

    #[test]
    fn prop_plan_set_edits_only_the_value_and_gives_the_options(
        tokens in proptest::collection::vec("(smt=[01]|noreboot|dom0_mem=[1-8]G|loglvl=all|iommu=no-intremap|ucode=scan)", 0..6),
        style in 0..3usize,
        set in proptest::collection::vec("(smt=[01]|noreboot|dom0_mem=[1-8]G|sched=credit2)", 1..4),
    ) {
        let joined = tokens.join(" ");
        let value = match style {
            0 => format!("\"{joined}\""),
            1 => format!("'{joined}'"),
            _ if tokens.len() == 1 => joined.clone(),
            _ => format!("\"  {}  \"", tokens.join("  ")),
        };
        let text = format!("# head\nGRUB_CMDLINE_XEN={value}  # tail\nGRUB_TIMEOUT=5\n");
        let file = DefaultGrub::parse(text.as_bytes(), Path::new("f")).unwrap();
        let span = file.assignments()[0].value_span.clone();
        let config = BootConfig::from_files(vec![file], None).unwrap();
        let set: Vec<&str> = set.iter().map(String::as_str).collect();
        let edit = config.plan_set(&set, &SetOptions::default()).unwrap();
        // Every given option is in, once, with its value; the rest keep their order.
        for s in &set {
            let name = s.split('=').next().unwrap();
            let last = set.iter().rev().find(|t| t.split('=').next() == Some(name)).unwrap();
            let found: Vec<&String> = edit.after.iter().filter(|t| t.split('=').next() == Some(name)).collect();
            prop_assert_eq!(found, vec![*last]);
        }
        if edit.is_noop() {
            return Ok(());
        }
        let new = edit.files[0].new_text();
        prop_assert_eq!(&new[..span.start], &text[..span.start]);
        prop_assert!(new.ends_with(&text[span.end..]));
        let again = BootConfig::from_files(vec![DefaultGrub::parse(new.as_bytes(), Path::new("f")).unwrap()], None).unwrap();
        let opts: Vec<String> = again.xen_options(XenVariable::Xen).unwrap().into_iter().map(|o| o.option.raw).collect();
        prop_assert_eq!(opts, edit.after);
    }

    #[test]
    fn prop_grub_cfg_and_grubenv_parsers_are_total(text in shellish(), bytes in proptest::collection::vec(any::<u8>(), 1024)) {
        let _ = Menu::parse(text.as_bytes(), Path::new("g"));
        let mut block = b"# GRUB Environment Block\n".to_vec();
        block.extend_from_slice(&bytes[25..]);
        if let Ok(env) = GrubEnv::parse(&block, Path::new("e")) {
            // What parses renders back to a block that parses to the same variables.
            let again = GrubEnv::parse(&env.to_bytes().unwrap(), Path::new("e")).unwrap();
            prop_assert_eq!(again.vars(), env.vars());
        }
    }
}
