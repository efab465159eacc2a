//! Properties of size parsing (proptest): every number with every unit means number ×
//! multiplier or is an overflow; fractions; display round trips; garbage never panics.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

use proptest::prelude::*;
use sparse_img::{ByteSize, SizeProblem, SparseImgError};

/// Every accepted unit and its multiplier: `B`, and each of K M G T P E (either case) alone or
/// with `i` or `iB` (binary), or with `B` (decimal).
fn units() -> Vec<(String, u128)> {
    let mut units = vec![(String::new(), 1), ("B".to_string(), 1)];
    for (power, letter) in (1u32..).zip(['K', 'M', 'G', 'T', 'P', 'E']) {
        for letter in [letter, letter.to_ascii_lowercase()] {
            for suffix in ["", "i", "iB"] {
                units.push((format!("{letter}{suffix}"), 1u128 << (10 * power)));
            }
            units.push((format!("{letter}B"), 1000u128.pow(power)));
        }
    }
    units
}

fn problem(text: &str) -> Option<SizeProblem> {
    match ByteSize::parse(text) {
        Ok(_) => None,
        Err(SparseImgError::InvalidSize { problem, input }) => {
            assert_eq!(input, text);
            Some(problem)
        }
        Err(other) => panic!("{text}: {other:?}"),
    }
}

fn unit() -> impl Strategy<Value = (String, u128)> {
    prop::sample::select(units())
}

proptest! {
    #[test]
    fn prop_number_times_unit(n in prop_oneof![0u64..10_000, any::<u64>()], (unit, mult) in unit(), space in prop::bool::ANY) {
        let text = format!("{n}{}{unit}", if space && !unit.is_empty() { " " } else { "" });
        let expected = u128::from(n) * mult;
        match u64::try_from(expected) {
            Ok(bytes) => prop_assert_eq!(ByteSize::parse(&text).unwrap().bytes(), bytes),
            Err(_) => prop_assert_eq!(problem(&text), Some(SizeProblem::Overflow)),
        }
    }

    #[test]
    fn prop_fractions(int in 0u64..100_000, frac in 1u32..1000, (unit, mult) in unit()) {
        let text = format!("{int}.{frac:03}{unit}");
        let scaled = (u128::from(int) * 1000 + u128::from(frac)) * mult;
        if scaled % 1000 == 0 {
            let bytes = u64::try_from(scaled / 1000);
            match bytes {
                Ok(bytes) => prop_assert_eq!(ByteSize::parse(&text).unwrap().bytes(), bytes),
                Err(_) => prop_assert_eq!(problem(&text), Some(SizeProblem::Overflow)),
            }
        } else {
            prop_assert_eq!(problem(&text), Some(SizeProblem::NotWholeBytes));
        }
    }

    #[test]
    fn prop_plain_decimal_round_trip(n in any::<u64>()) {
        prop_assert_eq!(ByteSize::parse(&n.to_string()).unwrap().bytes(), n);
        prop_assert_eq!(n.to_string().parse::<ByteSize>().unwrap(), ByteSize::from_bytes(n));
    }

    /// An exact display ("16 GiB") reads back as the same size; an inexact one ("1.4 MiB")
    /// is within a twentieth of its unit.
    #[test]
    fn prop_display_reads_back(n in any::<u64>()) {
        let shown = ByteSize::from_bytes(n).to_string();
        if !shown.contains('.') {
            prop_assert_eq!(ByteSize::parse(&shown).unwrap().bytes(), n, "{}", shown);
        } else {
            let (number, unit) = shown.split_once(' ').unwrap();
            let mult = units().into_iter().find(|(u, _)| u == unit).unwrap().1;
            let tenths: u128 = number.replace('.', "").parse().unwrap();
            let shown_bytes = tenths * mult / 10;
            let diff = shown_bytes.abs_diff(u128::from(n));
            prop_assert!(diff <= mult / 20 + 1, "{} for {}", shown, n);
        }
    }

    #[test]
    fn prop_garbage_never_panics(text in ".{0,40}") {
        let parsed = ByteSize::parse(&text);
        prop_assert_eq!(ByteSize::parse(&format!("  {text}\t")).ok(), parsed.ok());
    }

    #[test]
    fn prop_signs_are_refused(n in any::<u64>(), sign in prop::sample::select(vec!["+", "-"])) {
        prop_assert_eq!(problem(&format!("{sign}{n}G")), Some(SizeProblem::Signed));
    }

    #[test]
    fn prop_unknown_units_are_refused(n in 0u64..1000, unit in "[A-Za-z]{1,4}") {
        let known = units().iter().any(|(u, _)| *u == unit);
        let text = format!("{n}{unit}");
        match problem(&text) {
            None => prop_assert!(known, "{} was accepted", text),
            Some(SizeProblem::UnknownUnit { .. } | SizeProblem::AmbiguousUnit { .. }) => prop_assert!(!known),
            Some(other) => prop_assert!(known, "{}: {:?}", text, other),
        }
    }
}
