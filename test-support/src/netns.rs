//! Throwaway network namespaces (root and `ip` needed: check with
//! [`crate::tools::root_or_skip`] and [`crate::tools::have_tool`] first).

use std::process::Command;

use crate::tools::run;

/// A network namespace without IPv6 (its router solicitations would move the counters the
/// tests compare), deleted on drop, also when the test fails.
#[derive(Debug)]
pub struct NetNs {
    name: String,
}

impl NetNs {
    /// Adds the namespace `name` (make it unique: the pid in it).
    pub fn new(name: String) -> NetNs {
        run(&["ip", "netns", "add", &name]);
        let ns = NetNs { name };
        run(&[
            "ip",
            "netns",
            "exec",
            &ns.name,
            "sysctl",
            "-q",
            "-w",
            "net.ipv6.conf.all.disable_ipv6=1",
            "net.ipv6.conf.default.disable_ipv6=1",
        ]);
        ns
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs `ip -n NAME` with `args` (split at blanks), which must succeed.
    pub fn ip(&self, args: &str) {
        let mut all = vec!["ip", "-n", &self.name];
        all.extend(args.split_whitespace());
        run(&all);
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}
