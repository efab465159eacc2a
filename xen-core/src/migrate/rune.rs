//! The transport command ("rune") the sender runs with `sh -c`, as xl builds it (reference
//! `migration.md` §1.2).

/// What goes into the rune.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RuneOptions {
    /// `-s`: the transport command; `None` is `ssh`, `Some("")` makes `host` the whole
    /// command (any bidirectional transport, e.g. `socat - TCP:target:1234`).
    pub ssh_command: Option<String>,
    /// The target host (or, with an empty transport command, the command).
    pub host: String,
    /// The receiver command run on the target (`xenadm migrate-receive`, or
    /// `xl migrate-receive` for a target with stock xl only).
    pub receive_command: String,
    /// `-e`: forwarded as ` -e` (the receiver neither daemonizes nor monitors).
    pub no_monitor: bool,
    /// `--debug`: forwarded as ` -d`.
    pub debug: bool,
    /// `-p`: forwarded as ` -p` (the receiver leaves the guest paused).
    pub paused: bool,
    /// Ask a xenadm receiver for xenadm's wire format (` --wire lz4`, last; never given to a
    /// stock xl receiver, see [`super::wire`]).
    pub wire: bool,
}

/// The receiver command xenadm runs on the target by default.
pub const DEFAULT_RECEIVE_COMMAND: &str = "xenadm migrate-receive";

/// `exec <ssh> <host> <receiver>[ -e][ -d][ -p]`, or just `<host>` when the transport command
/// is empty.
pub fn rune(options: &RuneOptions) -> String {
    match options.ssh_command.as_deref() {
        Some("") => options.host.clone(),
        ssh => {
            let mut rune = format!(
                "exec {} {} {}",
                ssh.unwrap_or("ssh"),
                options.host,
                options.receive_command
            );
            for (set, flag) in [
                (options.no_monitor, " -e"),
                (options.debug, " -d"),
                (options.paused, " -p"),
            ] {
                if set {
                    rune.push_str(flag);
                }
            }
            if options.wire {
                rune.push_str(&format!(
                    " {} {}",
                    super::wire::WIRE_OPTION,
                    super::wire::WIRE_LZ4
                ));
            }
            rune
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> RuneOptions {
        RuneOptions {
            ssh_command: None,
            host: "hostb".to_string(),
            receive_command: DEFAULT_RECEIVE_COMMAND.to_string(),
            no_monitor: false,
            debug: false,
            paused: false,
            wire: false,
        }
    }

    #[test]
    fn test_runes_are_xls() {
        assert_eq!(rune(&options()), "exec ssh hostb xenadm migrate-receive");
        let all = RuneOptions {
            ssh_command: Some("ssh -p 2222".to_string()),
            receive_command: "xl migrate-receive".to_string(),
            no_monitor: true,
            debug: true,
            paused: true,
            ..options()
        };
        assert_eq!(
            rune(&all),
            "exec ssh -p 2222 hostb xl migrate-receive -e -d -p"
        );
        let raw = RuneOptions {
            ssh_command: Some(String::new()),
            host: "socat - TCP:b:1234".to_string(),
            no_monitor: true,
            ..options()
        };
        assert_eq!(rune(&raw), "socat - TCP:b:1234");
        let wire = RuneOptions {
            wire: true,
            no_monitor: true,
            ..options()
        };
        assert_eq!(
            rune(&wire),
            "exec ssh hostb xenadm migrate-receive -e --wire lz4"
        );
    }
}
