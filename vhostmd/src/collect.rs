//! One update: every metric's value, rendered into the host part and one part per VM.

use crate::action::{self, ActionLimits, Stderr, VALUE_CAP_BYTES, XML_VALUE_CAP_BYTES};
use crate::config::{Action, Config, Context, MetricDef, MetricType};
use crate::document::{self, check_xml_metrics, render_metric, sanitize, split_group};
use crate::error::{ActionProblem, VhostmdError};
use crate::host::{HostView, Snapshot};
use crate::native::{Collector, NativeHost};
use crate::quote::{self, Tokens};
use crate::vms::Vm;

/// How metrics are collected.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CollectOptions {
    /// The libvirt URI for the CONNECT token (`-c`).
    pub connect: Option<String>,
    /// Timeout and output caps of each action (value caps are upstream's and set per type).
    pub limits: ActionLimits,
    /// Let actions write to the daemon's stderr (foreground) instead of /dev/null.
    pub action_stderr: bool,
}

impl Default for CollectOptions {
    fn default() -> CollectOptions {
        CollectOptions {
            connect: None,
            limits: ActionLimits::default(),
            action_stderr: true,
        }
    }
}

impl CollectOptions {
    /// Sets the libvirt URI for the CONNECT token.
    pub fn with_connect(mut self, connect: Option<String>) -> CollectOptions {
        self.connect = connect;
        self
    }

    /// Sets the action limits.
    pub fn with_limits(mut self, limits: ActionLimits) -> CollectOptions {
        self.limits = limits;
        self
    }

    /// Lets actions write to stderr (`true`) or sends their stderr to /dev/null.
    pub fn with_action_stderr(mut self, inherit: bool) -> CollectOptions {
        self.action_stderr = inherit;
        self
    }
}

/// The result of one update.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Update {
    /// The host metrics, rendered.
    pub host_xml: String,
    /// Each VM and its metrics, rendered.
    pub vm_xml: Vec<(Vm, String)>,
    /// Metrics left out, and why.
    pub errors: Vec<VhostmdError>,
}

impl Update {
    /// The whole document (host metrics, then every VM's).
    pub fn document(&self) -> String {
        document::document(&self.host_xml, self.vm_xml.iter().map(|(_, x)| x.as_str()))
    }
}

/// Collects metrics for a configuration; keeps the built-in collectors' state between updates.
#[derive(Debug)]
pub struct Collecting {
    config: Config,
    options: CollectOptions,
    native: NativeHost,
}

impl Collecting {
    /// A collector for this configuration.
    pub fn new(config: Config, options: CollectOptions) -> Collecting {
        Collecting {
            config,
            options,
            native: NativeHost::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// One update for these VMs, host figures from this OS's `/proc` and `/sys`. Metrics are
    /// written (and run) in reverse definition order within each context, as upstream does.
    pub fn collect(&mut self, vms: &[Vm]) -> Update {
        self.collect_on(HostView::Local, vms)
    }

    /// One update of a [`VmSource::snapshot`](crate::VmSource::snapshot): its VMs, and host
    /// figures from its host view (the hypervisor's, on a Xen dom0).
    pub fn collect_snapshot(&mut self, snapshot: &Snapshot) -> Update {
        self.collect_on(snapshot.host.clone(), &snapshot.vms)
    }

    fn collect_on(&mut self, view: HostView, vms: &[Vm]) -> Update {
        self.native.begin_update_with(view, vms);
        let mut update = Update::default();
        let defs: Vec<MetricDef> = self.config.metrics.iter().rev().cloned().collect();
        for def in defs.iter().filter(|d| d.context == Context::Host) {
            let mut out = std::mem::take(&mut update.host_xml);
            self.metric(def, None, &mut out, &mut update.errors);
            update.host_xml = out;
        }
        for vm in vms {
            let mut out = String::new();
            for def in defs.iter().filter(|d| d.context == Context::Vm) {
                self.metric(def, Some(vm), &mut out, &mut update.errors);
            }
            update.vm_xml.push((vm.clone(), out));
        }
        update
    }

    fn metric(
        &mut self,
        def: &MetricDef,
        vm: Option<&Vm>,
        out: &mut String,
        errors: &mut Vec<VhostmdError>,
    ) {
        if let Err(problem) = self.try_metric(def, vm, out) {
            errors.push(VhostmdError::Action {
                metric: def.name.clone(),
                problem,
            });
        }
    }

    fn try_metric(
        &mut self,
        def: &MetricDef,
        vm: Option<&Vm>,
        out: &mut String,
    ) -> Result<(), ActionProblem> {
        let unit = def.unit.as_deref();
        let command = match &def.action {
            Action::Builtin => {
                let mut rendered = String::new();
                let names: Vec<(&str, MetricType)> = if def.kind == MetricType::Group {
                    def.variables
                        .iter()
                        .map(|v| (v.name.as_str(), v.kind))
                        .collect()
                } else {
                    vec![(def.name.as_str(), def.kind)]
                };
                for (name, kind) in names {
                    let collector = Collector::lookup(name, def.context).ok_or_else(|| {
                        ActionProblem::Native {
                            message: format!("no collector {name}"),
                        }
                    })?;
                    let value = self
                        .native
                        .value(collector, vm)
                        .map_err(|message| ActionProblem::Native { message })?;
                    render_metric(&mut rendered, kind, vm, unit, name, &value);
                }
                out.push_str(&rendered);
                return Ok(());
            }
            Action::Shell(command) => command,
        };
        let id;
        let tokens = Tokens {
            connect: self.options.connect.as_deref(),
            vm: match vm {
                Some(vm) => {
                    id = vm.id.to_string();
                    Some((vm.name.as_str(), id.as_str(), vm.uuid.as_str()))
                }
                None => None,
            },
        };
        let command_line = quote::substitute(command, &tokens)
            .map_err(|token| ActionProblem::UnsafeSubstitution { token })?;
        let limits = ActionLimits {
            value_cap_bytes: if def.kind == MetricType::Xml {
                XML_VALUE_CAP_BYTES
            } else {
                VALUE_CAP_BYTES
            },
            ..self.options.limits
        };
        let stderr = if self.options.action_stderr {
            Stderr::Inherit
        } else {
            Stderr::Null
        };
        let raw = action::run_shell(&command_line, &self.config.path, &limits, stderr)?;
        match def.kind {
            MetricType::Xml => {
                let text = std::str::from_utf8(&raw).map_err(|_| ActionProblem::BadXml {
                    message: "not UTF-8".into(),
                })?;
                check_xml_metrics(text).map_err(|message| ActionProblem::BadXml { message })?;
                out.push_str(text);
            }
            MetricType::Group => {
                let value = sanitize(&raw);
                let parts = split_group(&value, def.variables.len());
                for (var, part) in def.variables.iter().zip(parts) {
                    render_metric(out, var.kind, vm, unit, &var.name, &part);
                }
            }
            kind => render_metric(out, kind, vm, unit, &def.name, &sanitize(&raw)),
        }
        Ok(())
    }
}
