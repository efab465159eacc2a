//! What the interactive screen shows and how keys change it: a pure state machine, tested
//! without a terminal.
//!
//! xentop's keys, case-insensitive: `D` delay (typed, Enter applies, Esc cancels), `N`
//! networks, `B` block devices, `V` vCPUs, `R` repeat header, `S` next sort column, `Q` or Esc
//! quit, Up/Down scroll domains. Added here: PageUp/PageDown/Home/End, Left/Right to scroll
//! columns in a narrow terminal (NAME stays), Ctrl-C quits, Ctrl-L repaints.

use std::time::Duration;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use xen_core::render::xentop::{BatchOptions, Column};

/// Longest delay the `D` prompt accepts.
const MAX_DELAY: Duration = Duration::from_secs(24 * 3600);

/// What the loop must do after a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Nothing changed.
    Nothing,
    /// Draw again with the same sample.
    Redraw,
    /// Clear the terminal and draw everything again.
    Repaint,
    /// The delay changed: the next sample is due `delay` after the last one.
    DelayChanged,
    /// Leave the screen.
    Quit,
}

/// The screen's state.
#[derive(Debug, Clone)]
pub struct TopState {
    /// Columns, details, sort: what xentop's switches and toggles set.
    pub options: BatchOptions,
    /// Time between samples.
    pub delay: Duration,
    /// Index of the first domain shown (clamped when drawing).
    pub scroll: usize,
    /// Columns after NAME scrolled out to the left.
    pub column_offset: usize,
    /// The delay being typed after `D`.
    pub prompt: Option<String>,
    /// A one-line message about the last key (a rejected delay).
    pub message: Option<String>,
    /// Why the last sample failed (the screen keeps showing the one before).
    pub sample_error: Option<String>,
    /// Domain rows that fit on the last drawn screen, for PageUp/PageDown.
    pub page_rows: usize,
}

impl TopState {
    /// The initial state.
    pub fn new(options: BatchOptions, delay: Duration) -> TopState {
        TopState {
            options,
            delay,
            scroll: 0,
            column_offset: 0,
            prompt: None,
            message: None,
            sample_error: None,
            page_rows: 1,
        }
    }

    /// Applies one key.
    pub fn handle_key(&mut self, key: KeyEvent) -> Action {
        if key.kind == KeyEventKind::Release {
            return Action::Nothing;
        }
        if key.modifiers.contains(KeyModifiers::CONTROL) {
            return match key.code {
                KeyCode::Char('c' | 'C') => Action::Quit,
                KeyCode::Char('l' | 'L') => Action::Repaint,
                _ => Action::Nothing,
            };
        }
        if self.prompt.is_some() {
            return self.prompt_key(key.code);
        }
        let options = &mut self.options;
        match key.code {
            KeyCode::Char(c) => match c.to_ascii_lowercase() {
                'q' => return Action::Quit,
                'd' => {
                    self.prompt = Some(String::new());
                    self.message = None;
                }
                'n' => options.networks = !options.networks,
                'b' => options.vbds = !options.vbds,
                'v' => options.vcpus = !options.vcpus,
                'r' => options.repeat_header = !options.repeat_header,
                's' => options.sort = options.sort.next(),
                _ => return Action::Nothing,
            },
            KeyCode::Esc => return Action::Quit,
            KeyCode::Up => self.scroll = self.scroll.saturating_sub(1),
            KeyCode::Down => self.scroll = self.scroll.saturating_add(1),
            KeyCode::PageUp => self.scroll = self.scroll.saturating_sub(self.page_rows.max(1)),
            KeyCode::PageDown => self.scroll = self.scroll.saturating_add(self.page_rows.max(1)),
            KeyCode::Home => self.scroll = 0,
            KeyCode::End => self.scroll = usize::MAX,
            KeyCode::Left => self.column_offset = self.column_offset.saturating_sub(1),
            KeyCode::Right => {
                // NAME never scrolls; the last column stays reachable.
                self.column_offset = (self.column_offset + 1).min(Column::ALL.len() - 2);
            }
            _ => return Action::Nothing,
        }
        Action::Redraw
    }

    fn prompt_key(&mut self, code: KeyCode) -> Action {
        let Some(typed) = self.prompt.as_mut() else {
            return Action::Nothing;
        };
        match code {
            KeyCode::Esc => self.prompt = None,
            KeyCode::Backspace => {
                typed.pop();
            }
            KeyCode::Char(c) if (c.is_ascii_digit() || c == '.') && typed.len() < 12 => {
                typed.push(c);
            }
            KeyCode::Enter => {
                let typed = self.prompt.take().unwrap_or_default();
                match parse_delay(&typed) {
                    Some(delay) => {
                        self.delay = delay;
                        self.message = None;
                        return Action::DelayChanged;
                    }
                    None => {
                        self.message = Some(format!(
                            "delay {typed:?} not changed: give seconds above 0, at most {}",
                            MAX_DELAY.as_secs()
                        ));
                    }
                }
            }
            _ => return Action::Nothing,
        }
        Action::Redraw
    }

    /// Clamps the scroll position to the domains there are.
    pub fn clamp_scroll(&mut self, domains: usize) {
        self.scroll = self.scroll.min(domains.saturating_sub(1));
    }
}

/// Seconds typed at the `D` prompt: positive, at most [`MAX_DELAY`] (xentop rejects ≤ 0 too).
fn parse_delay(typed: &str) -> Option<Duration> {
    let seconds: f64 = typed.parse().ok()?;
    (seconds > 0.0 && seconds <= MAX_DELAY.as_secs_f64())
        .then(|| Duration::from_secs_f64(seconds))
        .filter(|d| !d.is_zero())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn ch(c: char) -> KeyEvent {
        key(KeyCode::Char(c))
    }

    fn state() -> TopState {
        TopState::new(BatchOptions::default(), Duration::from_secs(3))
    }

    #[test]
    fn test_toggles_are_case_insensitive() {
        let mut s = state();
        for (upper, lower) in [('N', 'n'), ('B', 'b'), ('V', 'v'), ('R', 'r')] {
            assert_eq!(s.handle_key(ch(upper)), Action::Redraw);
            assert_eq!(s.handle_key(ch(lower)), Action::Redraw);
        }
        assert!(!s.options.networks && !s.options.vbds);
        assert!(!s.options.vcpus && !s.options.repeat_header);
        s.handle_key(ch('n'));
        s.handle_key(ch('B'));
        s.handle_key(ch('v'));
        s.handle_key(ch('R'));
        assert!(s.options.networks && s.options.vbds && s.options.vcpus && s.options.repeat_header);
    }

    #[test]
    fn test_sort_cycles_through_all_columns() {
        let mut s = state();
        assert_eq!(s.options.sort, Column::Name);
        let mut seen = vec![s.options.sort];
        for _ in 0..Column::ALL.len() - 1 {
            s.handle_key(ch('S'));
            seen.push(s.options.sort);
        }
        assert_eq!(seen, Column::ALL);
        s.handle_key(ch('s'));
        assert_eq!(s.options.sort, Column::Name);
    }

    #[test]
    fn test_quit_keys() {
        for k in [ch('q'), ch('Q'), key(KeyCode::Esc)] {
            assert_eq!(state().handle_key(k), Action::Quit);
        }
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(state().handle_key(ctrl_c), Action::Quit);
        let ctrl_l = KeyEvent::new(KeyCode::Char('l'), KeyModifiers::CONTROL);
        assert_eq!(state().handle_key(ctrl_l), Action::Repaint);
    }

    #[test]
    fn test_delay_prompt_applies_rejects_and_cancels() {
        let mut s = state();
        assert_eq!(s.handle_key(ch('D')), Action::Redraw);
        for c in "1.5".chars() {
            s.handle_key(ch(c));
        }
        // Letters are not typed into the prompt and do not toggle anything.
        assert_eq!(s.handle_key(ch('n')), Action::Nothing);
        assert!(!s.options.networks);
        assert_eq!(s.prompt.as_deref(), Some("1.5"));
        assert_eq!(s.handle_key(key(KeyCode::Enter)), Action::DelayChanged);
        assert_eq!(s.delay, Duration::from_millis(1500));
        assert_eq!(s.prompt, None);

        for typed in ["0", "", ".", "0.0", "1..2", "999999"] {
            s.handle_key(ch('d'));
            for c in typed.chars() {
                s.handle_key(ch(c));
            }
            assert_eq!(s.handle_key(key(KeyCode::Enter)), Action::Redraw, "{typed}");
            assert_eq!(s.delay, Duration::from_millis(1500), "{typed}");
            assert!(s.message.as_deref().unwrap_or("").contains("not changed"));
        }

        s.handle_key(ch('d'));
        s.handle_key(ch('7'));
        s.handle_key(key(KeyCode::Backspace));
        s.handle_key(ch('5'));
        assert_eq!(s.prompt.as_deref(), Some("5"));
        // Esc leaves the prompt, not the screen.
        assert_eq!(s.handle_key(key(KeyCode::Esc)), Action::Redraw);
        assert_eq!(s.prompt, None);
        assert_eq!(s.delay, Duration::from_millis(1500));
    }

    #[test]
    fn test_scrolling_both_ways() {
        let mut s = state();
        s.handle_key(key(KeyCode::Up));
        assert_eq!(s.scroll, 0);
        for _ in 0..5 {
            s.handle_key(key(KeyCode::Down));
        }
        s.clamp_scroll(3);
        assert_eq!(s.scroll, 2);
        s.page_rows = 10;
        s.handle_key(key(KeyCode::PageUp));
        assert_eq!(s.scroll, 0);
        s.handle_key(key(KeyCode::End));
        s.clamp_scroll(40);
        assert_eq!(s.scroll, 39);
        s.handle_key(key(KeyCode::Home));
        assert_eq!(s.scroll, 0);
        for _ in 0..100 {
            s.handle_key(key(KeyCode::Right));
        }
        assert_eq!(s.column_offset, Column::ALL.len() - 2);
        s.handle_key(key(KeyCode::Left));
        assert_eq!(s.column_offset, Column::ALL.len() - 3);
    }

    #[test]
    fn test_key_release_and_unknown_keys_do_nothing() {
        let mut s = state();
        let mut release = ch('q');
        release.kind = KeyEventKind::Release;
        assert_eq!(s.handle_key(release), Action::Nothing);
        assert_eq!(s.handle_key(ch('x')), Action::Nothing);
        assert_eq!(s.handle_key(key(KeyCode::F(1))), Action::Nothing);
    }
}
