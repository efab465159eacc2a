//! Turns the Xen option tables in `data/` (kept as data with their sources) into static Rust
//! tables, so a malformed row fails the build instead of a run.

use std::error::Error;
use std::fmt::Write as _;
use std::{env, fs, path::Path};

const HEADER: &str = "name\tarch_in_heading\tapplicability\ttype\tsyntax\tdefault\t\
default_is_conditional\truntime_modifiable\tmentions_deprecated\tsource_registration\tsub_options";

const KINDS: [(&str, &str); 10] = [
    ("boolean", "Boolean"),
    ("integer", "Integer"),
    ("size", "Size"),
    ("string", "String"),
    ("enum", "Enum"),
    ("boolean|enum", "BooleanOrEnum"),
    ("boolean|custom", "BooleanOrCustom"),
    ("list", "List"),
    ("custom", "Custom"),
    ("unspecified", "Unspecified"),
];

fn yes(field: &str, at: &str) -> Result<bool, Box<dyn Error>> {
    match field {
        "yes" => Ok(true),
        "" => Ok(false),
        other => Err(format!("{at}: expected `yes` or nothing, found {other:?}").into()),
    }
}

/// The plain words an enum-like syntax accepts, and whether it also accepts a boolean. An
/// alternative that is neither a placeholder nor a plain word makes the list unusable
/// (`None`): such values are not checked.
fn enum_words(syntax: &str) -> (Option<Vec<String>>, bool) {
    let accepts_bool = syntax.contains("<boolean>") || syntax.contains("<bool>");
    let mut words = Vec::new();
    for alternative in syntax.split("||") {
        let body = alternative.trim().trim_start_matches('=').trim();
        for word in body.split('|') {
            let word = word.trim();
            if word.starts_with('<') && word.ends_with('>') {
                continue;
            }
            if word.is_empty()
                || !word
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
            {
                return (None, accepts_bool);
            }
            words.push(word.to_string());
        }
    }
    (Some(words), accepts_bool)
}

/// Sub-option keys, plus `com1H`/`com1L` for a `com1[H,L]` in the syntax.
fn sub_options(field: &str, syntax: &str) -> Vec<String> {
    let mut keys: Vec<String> = field
        .split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(str::to_string)
        .collect();
    let mut extra = Vec::new();
    for key in &keys {
        if syntax.contains(&format!("{key}[H,L]")) {
            extra.push(format!("{key}H"));
            extra.push(format!("{key}L"));
        }
    }
    keys.extend(extra);
    keys
}

fn table(source: &str, konst: &str, out: &mut String) -> Result<(), Box<dyn Error>> {
    println!("cargo::rerun-if-changed={source}");
    let text = fs::read_to_string(source)?;
    let mut lines = text.lines().enumerate();
    let header = lines.next().map(|(_, l)| l).unwrap_or_default();
    if header != HEADER {
        return Err(format!("{source}: unexpected header {header:?}").into());
    }
    let mut rows = String::new();
    let mut count = 0usize;
    for (index, line) in lines {
        let at = format!("{source}:{}", index + 1);
        let fields: Vec<&str> = line.split('\t').collect();
        let [
            name,
            arch,
            applicability,
            kind,
            syntax,
            default,
            conditional,
            runtime,
            deprecated,
            registration,
            subs,
        ] = fields[..]
        else {
            return Err(format!("{at}: expected 11 tab-separated fields").into());
        };
        if name.is_empty() || name.contains(' ') {
            return Err(format!("{at}: bad option name {name:?}").into());
        }
        let kind_ident = KINDS
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, v)| *v)
            .ok_or_else(|| format!("{at}: unknown type {kind:?}"))?;
        let (words, accepts_bool) = enum_words(syntax);
        let words = match (kind, words) {
            ("enum" | "boolean|enum", Some(words)) => format!("Some(&{words:?})"),
            _ => "None".to_string(),
        };
        let subs = sub_options(subs, syntax);
        writeln!(
            rows,
            "    XenParam {{ name: {name:?}, arch: {arch:?}, applicability: {applicability:?}, \
             kind: ParamKind::{kind_ident}, syntax: {syntax:?}, default: {default:?}, \
             default_is_conditional: {}, runtime_modifiable: {}, mentions_deprecated: {}, \
             registration: {registration:?}, sub_options: &{subs:?}, enum_values: {words}, \
             accepts_boolean: {accepts_bool} }},",
            yes(conditional, &at)?,
            yes(runtime, &at)?,
            yes(deprecated, &at)?,
        )?;
        count += 1;
    }
    if count < 100 {
        return Err(format!("{source}: only {count} rows; expected the whole table").into());
    }
    writeln!(
        out,
        "pub(crate) static {konst}: [XenParam; {count}] = [\n{rows}];"
    )?;
    Ok(())
}

fn ignored(source: &str, out: &mut String) -> Result<(), Box<dyn Error>> {
    println!("cargo::rerun-if-changed={source}");
    let text = fs::read_to_string(source)?;
    let mut lines = text.lines();
    if lines.next() != Some("name\tsource_registration") {
        return Err(format!("{source}: unexpected header").into());
    }
    let mut rows = String::new();
    let mut count = 0usize;
    for line in lines {
        let Some((name, registration)) = line.split_once('\t') else {
            return Err(format!("{source}: expected 2 tab-separated fields in {line:?}").into());
        };
        writeln!(
            rows,
            "    XenParam {{ name: {name:?}, arch: \"\", applicability: \"\", kind: ParamKind::Ignored, \
             syntax: \"\", default: \"\", default_is_conditional: false, runtime_modifiable: false, \
             mentions_deprecated: false, registration: {registration:?}, sub_options: &[], \
             enum_values: None, accepts_boolean: true }},"
        )?;
        count += 1;
    }
    writeln!(
        out,
        "pub(crate) static UNDOCUMENTED: [XenParam; {count}] = [\n{rows}];"
    )?;
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let mut out = String::from("// Generated by build.rs from data/*.tsv. Do not edit.\n");
    table("data/params-4.17.0.tsv", "PARAMS_4_17", &mut out)?;
    table("data/params-4.22.0.tsv", "PARAMS_4_22", &mut out)?;
    ignored("data/registered-but-undocumented.tsv", &mut out)?;
    let out_dir = env::var("OUT_DIR")?;
    fs::write(Path::new(&out_dir).join("xen_params.rs"), out)?;
    Ok(())
}
