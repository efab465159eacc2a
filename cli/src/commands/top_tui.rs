//! The interactive screen of `xenadm top`: xentop's summary, table and keys in a ratatui
//! screen that fits any terminal (in a narrow one, Left/Right scroll the columns while NAME
//! stays). The table text is exactly `xentop -b`'s ([`xen_core::render::xentop::Table`]);
//! CPU% comes from [`Interval`], as in batch mode.
//!
//! The screen is generic over the [`HostBackend`], and over the terminal and the source of
//! key presses, so that tests drive it with recorded samples, a `TestBackend` and scripted
//! keys.

mod state;
mod view;

use std::io::{self, IsTerminal};
use std::time::{Duration, Instant};

use ratatui::Terminal;
use ratatui::backend::Backend;
use ratatui::crossterm::event::{self, Event, KeyEvent};
use xen_core::host::{Host, HostBackend, Interval, Sample, SampleFlags, XenBackend};
use xen_core::render::xentop::BatchOptions;

use crate::error::{Chain, CliError};

pub use state::{Action, TopState};

/// How the screen starts: xentop's switches.
#[derive(Debug, Clone)]
pub struct TopSettings {
    /// Time between samples (xentop `-d`, default 3 s).
    pub delay: Duration,
    /// Details, header repetition, names, sort (xentop `-n -x -v -r -f -z`).
    pub options: BatchOptions,
}

impl Default for TopSettings {
    fn default() -> TopSettings {
        TopSettings {
            delay: Duration::from_secs(3),
            options: BatchOptions::default(),
        }
    }
}

/// The shortest time between samples on the screen: `-d 0` is a busy loop in batch mode,
/// which a screen that nobody can read that fast does not need.
const MIN_DELAY: Duration = Duration::from_millis(100);

/// Runs the interactive screen on the real host until the user quits, starting from the
/// delay and table options of the command line (`-d`, `-n`, `-x`, `-v`, `-r`, `-f`, `-z`).
pub fn run(args: &crate::commands::top::TopArgs, host: Host<XenBackend>) -> Result<u8, CliError> {
    let settings = TopSettings {
        delay: args.delay.max(MIN_DELAY),
        options: args.batch_options(),
    };
    run_with(&settings, host)
}

/// Runs the interactive screen over any backend.
pub fn run_with<B: HostBackend>(settings: &TopSettings, mut host: Host<B>) -> Result<u8, CliError> {
    if !io::stdin().is_terminal() || !io::stdout().is_terminal() {
        return Err(CliError::Output(io::Error::new(
            io::ErrorKind::Unsupported,
            "the interactive screen needs a terminal; for plain text use batch mode (xenadm top -b)",
        )));
    }
    // Sample before taking over the terminal, so that "no Xen" prints as a normal error.
    let first = host.sample(SampleFlags::all())?;
    let mut terminal = ratatui::try_init().map_err(CliError::Terminal)?;
    let state = TopState::new(settings.options, settings.delay);
    let result = run_screen(&mut host, &mut terminal, &mut TerminalEvents, state, first);
    let restored = ratatui::try_restore();
    result?;
    restored.map_err(CliError::Terminal)?;
    Ok(0)
}

/// An input the screen reacts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// A key press.
    Key(KeyEvent),
    /// The terminal changed size.
    Resize,
    /// Anything else (mouse, focus): ignored.
    Other,
}

/// Where inputs come from: the terminal, or a script in tests.
pub trait Events {
    /// The next input, waiting at most `timeout`; `None` when the time is up (a new sample
    /// is due).
    fn next(&mut self, timeout: Duration) -> io::Result<Option<Input>>;
}

/// Key presses and resizes of the real terminal.
#[derive(Debug)]
struct TerminalEvents;

impl Events for TerminalEvents {
    fn next(&mut self, timeout: Duration) -> io::Result<Option<Input>> {
        if !event::poll(timeout)? {
            return Ok(None);
        }
        Ok(Some(match event::read()? {
            Event::Key(key) => Input::Key(key),
            Event::Resize(..) => Input::Resize,
            _ => Input::Other,
        }))
    }
}

/// The screen's loop: draw, wait for a key or the next sample, repeat. Returns the final
/// state when the user quits. A failed sample is shown on the screen and the previous one
/// kept; a domain that disappeared between samples simply leaves the table (and a new one
/// shows CPU% 0.0 until its second sample, as in xentop).
pub fn run_screen<H: HostBackend, T: Backend>(
    host: &mut Host<H>,
    terminal: &mut Terminal<T>,
    events: &mut impl Events,
    mut state: TopState,
    first: Sample,
) -> Result<TopState, CliError> {
    let mut previous: Option<Sample> = None;
    let mut current = first;
    let mut taken = Instant::now();
    let mut repaint = false;
    loop {
        if std::mem::take(&mut repaint) {
            terminal.clear().map_err(terminal_error)?;
        }
        {
            let interval = Interval::new(previous.as_ref(), &current);
            terminal
                .draw(|frame| view::draw(frame, &mut state, &interval))
                .map_err(terminal_error)?;
        }
        let wait = (taken + state.delay).saturating_duration_since(Instant::now());
        match events.next(wait).map_err(CliError::Terminal)? {
            Some(Input::Key(key)) => match state.handle_key(key) {
                Action::Quit => return Ok(state),
                Action::Repaint => repaint = true,
                Action::Nothing | Action::Redraw | Action::DelayChanged => {}
            },
            Some(Input::Resize | Input::Other) => {}
            None => {
                match host.sample(SampleFlags::all()) {
                    Ok(sample) => {
                        previous = Some(std::mem::replace(&mut current, sample));
                        state.sample_error = None;
                    }
                    Err(err) => {
                        state.sample_error = Some(format!(
                            "sample failed ({}); showing the previous one",
                            Chain(&err)
                        ));
                    }
                }
                taken = Instant::now();
            }
        }
    }
}

fn terminal_error<E: std::error::Error>(err: E) -> CliError {
    CliError::Output(io::Error::other(err.to_string()))
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::VecDeque;

    use ratatui::backend::TestBackend;
    use ratatui::crossterm::event::{KeyCode, KeyModifiers};
    use xen_core::host::{DomId, DomainName, DomainState, DomainStats, HostInfo, RecordedBackend};

    use super::*;

    /// Two samples one second apart: the real Xen 4.17 dom0 running the guest `web1`
    /// ([`test_support::samples::real_host`], from the `xentop -b -d 1 -i 2 -n -x -v -f`
    /// capture of the project's shared test data) with the counters of an earlier sample, then
    /// one second later, plus a crashed domain with a name that has spaces, quotes, a
    /// backslash, a newline and a byte that is not UTF-8.
    pub(crate) fn host_samples() -> [Sample; 2] {
        let mut first = test_support::samples::real_host();
        first.unix_time_ns = 1_795_502_610_000_000_000; // 2026-11-26 06:43:30 UTC
        first.monotonic_ns = 5_000_000_000;
        first.domains[0].cpu_time_ns = 30_100_000_000;
        let web1 = &mut first.domains[1];
        web1.state = DomainState::RUNNING;
        web1.cpu_time_ns = 4_200_000_000;
        let vif = &mut web1.vifs[0];
        vif.rx_bytes = 2564;
        vif.rx_packets = 13;
        vif.tx_bytes = 3692;
        vif.tx_packets = 24;

        let mut odd = DomainStats::default();
        odd.domid = DomId(7);
        odd.name = DomainName::new(&b"x y\n\"q\"\\s\xff tail"[..]);
        odd.state = DomainState::SHUTDOWN | DomainState::CRASHED;
        odd.memory_kib = 4;
        first.domains.push(odd);

        let mut second = first.clone();
        second.unix_time_ns += 1_000_123_000;
        second.monotonic_ns += 1_000_123_000;
        // xentop's CPU%: (Δns / 10) / Δµs.
        second.domains[0].cpu_time_ns += 98_000_000; // 9.8
        second.domains[1].cpu_time_ns += 111_000_000; // 11.1
        second.domains[1].state = DomainState::BLOCKED;
        second.domains[1].vifs[0].rx_bytes = 2792;
        second.domains[1].vifs[0].rx_packets = 14;
        second.domains[1].vifs[0].tx_bytes = 3934;
        second.domains[1].vifs[0].tx_packets = 25;
        [first, second]
    }

    fn text_of(backend: &TestBackend) -> Vec<String> {
        let buffer = backend.buffer();
        let area = buffer.area;
        (0..area.height)
            .map(|y| {
                (0..area.width)
                    .map(|x| buffer[(x, y)].symbol().to_string())
                    .collect()
            })
            .collect()
    }

    /// The screen's text at a terminal size.
    pub(crate) fn screen(
        width: u16,
        height: u16,
        state: &mut TopState,
        interval: &Interval<'_>,
    ) -> Vec<String> {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        terminal
            .draw(|frame| view::draw(frame, state, interval))
            .unwrap();
        text_of(terminal.backend())
    }

    /// Inputs from a list: `None` entries say "the delay has passed".
    struct Script(VecDeque<Option<Input>>);

    impl Events for Script {
        fn next(&mut self, _timeout: Duration) -> io::Result<Option<Input>> {
            // Out of script: quit, so a test never hangs.
            Ok(self.0.pop_front().unwrap_or(Some(key('q'))))
        }
    }

    fn key(c: char) -> Input {
        Input::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
    }

    #[test]
    fn test_loop_samples_on_time_keeps_the_last_sample_on_failure_and_quits() {
        let [first, second] = host_samples();
        // The recording holds one more sample after the first; the next one fails.
        let mut host = Host::with_backend(RecordedBackend::new(HostInfo::default(), vec![second]));
        let mut terminal = Terminal::new(TestBackend::new(160, 14)).unwrap();
        let mut script = Script(VecDeque::from([
            Some(key('n')),
            None,
            Some(Input::Resize),
            None,
        ]));
        let state = TopState::new(BatchOptions::default(), Duration::from_secs(3600));
        let state = run_screen(&mut host, &mut terminal, &mut script, state, first).unwrap();
        assert!(state.options.networks);
        let error = state.sample_error.unwrap_or_default();
        assert!(error.contains("sample failed"), "{error}");
        let lines = text_of(terminal.backend());
        // The second sample is still shown, with its CPU% and web1's second vif numbers.
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("      web1 --b---          4   11.1"))
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("Net0 RX:     2792bytes"))
        );
        assert!(lines.iter().any(|l| l.starts_with("sample failed")));
    }

    #[test]
    fn test_loop_domain_vanishing_between_samples() {
        let [first, mut second] = host_samples();
        // web1 is destroyed and a new domain takes a new id.
        second.domains.remove(1);
        let mut newcomer = DomainStats::default();
        newcomer.domid = DomId(8);
        newcomer.name = DomainName::new("new");
        newcomer.cpu_time_ns = 9_000_000_000;
        second.domains.push(newcomer);
        let mut host = Host::with_backend(RecordedBackend::new(HostInfo::default(), vec![second]));
        let mut terminal = Terminal::new(TestBackend::new(100, 12)).unwrap();
        let mut script = Script(VecDeque::from([None, Some(key('x'))]));
        let state = TopState::new(BatchOptions::default(), Duration::from_secs(3600));
        let state = run_screen(&mut host, &mut terminal, &mut script, state, first).unwrap();
        assert_eq!(state.sample_error, None);
        let lines = text_of(terminal.backend());
        assert!(!lines.iter().any(|l| l.contains("web1")));
        // The new domain has no previous sample: CPU% 0.0, as xentop.
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("       new ------          9    0.0")),
            "{lines:#?}"
        );
    }

    #[test]
    fn test_loop_delay_key_changes_the_wait() {
        let [first, _] = host_samples();
        let mut host = Host::with_backend(RecordedBackend::new(HostInfo::default(), vec![]));
        let mut terminal = Terminal::new(TestBackend::new(40, 10)).unwrap();
        let enter = Input::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
        let mut script = Script(VecDeque::from([
            Some(key('D')),
            Some(key('5')),
            Some(enter),
            Some(Input::Key(KeyEvent::new(
                KeyCode::Char('l'),
                KeyModifiers::CONTROL,
            ))),
        ]));
        let state = TopState::new(BatchOptions::default(), Duration::from_secs(3));
        let state = run_screen(&mut host, &mut terminal, &mut script, state, first).unwrap();
        assert_eq!(state.delay, Duration::from_secs(5));
    }
}
