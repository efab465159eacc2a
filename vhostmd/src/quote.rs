//! Substituting CONNECT, NAME, VMID and UUID into an action, quoted for the place each token
//! stands in the shell command (unquoted, in single quotes, in double quotes, in `$( )` or
//! backticks).
//!
//! A value made only of characters with no meaning to the shell (letters, digits and
//! `_@%+=:,./-`) is inserted as is, exactly as upstream does, so every ordinary action behaves
//! as before. Any other value is quoted so that the shell sees exactly the value as text,
//! whatever it contains: a VM named `x;touch /tmp/pwned` cannot run a command. Where the place
//! cannot be known for sure (after a here-document `<<`), such a value is refused and the
//! action is not run.
//!
//! Tokens are replaced in one pass over the action, so a value that itself contains a token
//! (a VM named `UUID`) is not substituted again (upstream replaces token by token).

/// The values a vm (or host) action may receive.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Tokens<'a> {
    /// The libvirt URI given with `-c`; CONNECT becomes `--connect 'URI'` or nothing.
    pub connect: Option<&'a str>,
    /// VM name, id and UUID; `None` for host metrics (their NAME/VMID/UUID stay as text).
    pub vm: Option<(&'a str, &'a str, &'a str)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quote {
    Unquoted,
    Single,
    Double,
    /// Inside `$( )`.
    Paren,
    /// Inside backticks.
    Backtick,
}

fn is_plain(value: &str) -> bool {
    !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_@%+=:,./-".contains(&b))
}

/// `'value'` with each `'` written as `'\''`.
fn single_quoted(value: &str, out: &mut String) {
    out.push('\'');
    for c in value.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
}

fn quote_into(value: &str, state: Quote, out: &mut String) {
    match state {
        Quote::Unquoted | Quote::Paren => single_quoted(value, out),
        Quote::Backtick => {
            // Backticks end at the first unescaped backtick even inside quotes: escape the
            // backtick level first, so the inner shell sees the single-quoted value.
            let mut quoted = String::new();
            single_quoted(value, &mut quoted);
            for c in quoted.chars() {
                if matches!(c, '\\' | '`' | '$') {
                    out.push('\\');
                }
                out.push(c);
            }
        }
        Quote::Single => {
            // Close the single quotes, add the value quoted, reopen.
            out.push('\'');
            single_quoted(value, out);
            out.push('\'');
        }
        Quote::Double => {
            for c in value.chars() {
                if matches!(c, '$' | '`' | '"' | '\\') {
                    out.push('\\');
                }
                out.push(c);
            }
        }
    }
}

/// The action with its tokens substituted; `Err(token)` when a value cannot be placed safely.
pub(crate) fn substitute(template: &str, tokens: &Tokens<'_>) -> Result<String, &'static str> {
    let mut out = String::with_capacity(template.len() + 64);
    let mut stack = vec![Quote::Unquoted];
    let mut uncertain = false;
    let bytes = template.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let rest = &template[i..];
        let state = stack.last().copied().unwrap_or(Quote::Unquoted);
        let found = [
            ("CONNECT", None),
            ("NAME", tokens.vm.map(|v| v.0)),
            ("VMID", tokens.vm.map(|v| v.1)),
            ("UUID", tokens.vm.map(|v| v.2)),
        ]
        .into_iter()
        .find(|(t, _)| rest.starts_with(t));
        if let Some((token, value)) = found {
            if token == "CONNECT" {
                if let Some(uri) = tokens.connect {
                    out.push_str("--connect ");
                    if is_plain(uri) {
                        out.push('\'');
                        out.push_str(uri);
                        out.push('\'');
                    } else if uncertain {
                        return Err(token);
                    } else {
                        quote_into(uri, state, &mut out);
                    }
                }
                i += token.len();
                continue;
            }
            if let Some(value) = value {
                if is_plain(value) {
                    out.push_str(value);
                } else if uncertain {
                    return Err(token);
                } else {
                    quote_into(value, state, &mut out);
                }
                i += token.len();
                continue;
            }
        }
        let Some(c) = rest.chars().next() else {
            break;
        };
        let len = c.len_utf8();
        match state {
            Quote::Single => {
                if c == '\'' {
                    stack.pop();
                }
            }
            Quote::Double => match c {
                '\\' => {
                    out.push(c);
                    i += len;
                    if let Some(n) = template[i..].chars().next() {
                        out.push(n);
                        i += n.len_utf8();
                    }
                    continue;
                }
                '"' => {
                    stack.pop();
                }
                '`' => stack.push(Quote::Backtick),
                '$' if rest.starts_with("$(") => {
                    stack.push(Quote::Paren);
                    out.push_str("$(");
                    i += 2;
                    continue;
                }
                _ => {}
            },
            Quote::Unquoted | Quote::Paren | Quote::Backtick => match c {
                '\\' => {
                    out.push(c);
                    i += len;
                    if let Some(n) = template[i..].chars().next() {
                        out.push(n);
                        i += n.len_utf8();
                    }
                    continue;
                }
                '\'' => stack.push(Quote::Single),
                '"' => stack.push(Quote::Double),
                '`' if state == Quote::Backtick => {
                    stack.pop();
                }
                '`' => stack.push(Quote::Backtick),
                '$' if rest.starts_with("$(") => {
                    stack.push(Quote::Paren);
                    out.push_str("$(");
                    i += 2;
                    continue;
                }
                '(' if state == Quote::Paren => stack.push(Quote::Paren),
                ')' if state == Quote::Paren => {
                    stack.pop();
                }
                '<' if rest.starts_with("<<") => uncertain = true,
                _ => {}
            },
        }
        if stack.is_empty() {
            stack.push(Quote::Unquoted);
        }
        out.push(c);
        i += len;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vm<'a>(name: &'a str) -> Tokens<'a> {
        Tokens {
            connect: Some("test:///default"),
            vm: Some((name, "7", "6695eb01-f6a4-8304-79aa-97f2502e193f")),
        }
    }

    #[test]
    fn test_plain_values_are_inserted_as_upstream_does() {
        assert_eq!(
            substitute("virsh CONNECT dominfo NAME", &vm("test")).unwrap(),
            "virsh --connect 'test:///default' dominfo test"
        );
        assert_eq!(
            substitute("printf \"id='VMID' uuid='UUID'\"", &vm("t")).unwrap(),
            "printf \"id='7' uuid='6695eb01-f6a4-8304-79aa-97f2502e193f'\""
        );
    }

    #[test]
    fn test_host_metrics_keep_vm_tokens() {
        let t = Tokens {
            connect: None,
            vm: None,
        };
        assert_eq!(substitute("echo CONNECT NAME", &t).unwrap(), "echo  NAME");
    }

    #[test]
    fn test_hostile_names_are_quoted_for_their_place() {
        let name = "x;touch /tmp/p'\"$(id)`id`";
        let t = vm(name);
        assert_eq!(
            substitute("echo NAME", &t).unwrap(),
            "echo 'x;touch /tmp/p'\\''\"$(id)`id`'"
        );
        assert_eq!(
            substitute("echo \"NAME\"", &t).unwrap(),
            "echo \"x;touch /tmp/p'\\\"\\$(id)\\`id\\`\""
        );
        assert_eq!(
            substitute("echo 'NAME'", &t).unwrap(),
            "echo '''x;touch /tmp/p'\\''\"$(id)`id`'''"
        );
    }

    #[test]
    fn test_here_document_refuses_unsafe_values() {
        assert_eq!(substitute("cat <<E\nNAME\nE", &vm("a b")), Err("NAME"));
        assert!(substitute("cat <<E\nNAME\nE", &vm("ab")).is_ok());
    }

    #[test]
    fn test_value_containing_a_token_is_not_substituted_again() {
        assert_eq!(substitute("echo NAME", &vm("UUID")).unwrap(), "echo UUID");
    }
}
