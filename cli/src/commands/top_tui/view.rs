//! Drawing the screen: xentop's summary, its table (the same text as `xentop -b`, from
//! [`xen_core::render::xentop::Table`]) and the key bar, fitted to any terminal size.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use xen_core::host::Interval;
use xen_core::render::xentop::{Column, Table};
use xen_core::render::{self, printable};

use super::state::TopState;

/// Draws the whole screen for `interval` (the newest sample and the one before it).
pub fn draw(frame: &mut Frame<'_>, state: &mut TopState, interval: &Interval<'_>) {
    let area = frame.area();
    // In a very short terminal the summary gives way to the table.
    let summary_height = if area.height >= 8 { 3 } else { 0 };
    let notice = state.sample_error.as_ref().or(state.message.as_ref());
    let [summary, table, message, bar] = Layout::vertical([
        Constraint::Length(summary_height),
        Constraint::Min(0),
        Constraint::Length(u16::from(notice.is_some())),
        Constraint::Length(1),
    ])
    .areas(area);
    if let Some(text) = notice {
        frame.render_widget(Paragraph::new(printable(text)), message);
    }
    let summary_lines = render::summary::lines(interval.current()).map(Line::from);
    frame.render_widget(Paragraph::new(summary_lines.to_vec()), summary);
    draw_table(frame, state, interval, table);
    frame.render_widget(Paragraph::new(key_bar(state, bar.width)), bar);
}

fn draw_table(frame: &mut Frame<'_>, state: &mut TopState, interval: &Interval<'_>, area: Rect) {
    let table = Table::new(interval, &state.options);
    state.clamp_scroll(table.len());
    let height = usize::from(area.height);
    let header_style = Style::default().add_modifier(Modifier::REVERSED);
    let mut lines: Vec<Line<'static>> = Vec::with_capacity(height);
    let mut rows_shown = 0;
    for index in state.scroll..table.len() {
        if lines.len() >= height {
            break;
        }
        if index == state.scroll || state.options.repeat_header {
            let mut header = Vec::new();
            let _ = table.write_header(&mut header);
            let text = scrolled(&header, &table, state.column_offset);
            lines.push(Line::styled(text, header_style));
        }
        let mut row = Vec::new();
        let _ = table.write_row(&mut row, index);
        lines.push(Line::from(scrolled(&row, &table, state.column_offset)));
        rows_shown += 1;
        let mut details = Vec::new();
        let _ = table.write_details(&mut details, index);
        lines.extend(
            details
                .split(|&b| b == b'\n')
                .filter(|line| !line.is_empty())
                .map(|line| Line::from(printable_bytes(line))),
        );
    }
    if table.is_empty() {
        lines.push(Line::from("no domains"));
    }
    lines.truncate(height);
    state.page_rows = rows_shown.max(1);
    frame.render_widget(Paragraph::new(lines), area);
}

/// A header or row line with `offset` columns after NAME left out, so that a narrow terminal
/// can scroll through the table while NAME stays.
fn scrolled(line: &[u8], table: &Table<'_>, offset: usize) -> String {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let pinned = (table.width(Column::Name) + 1).min(line.len());
    let skipped: usize = Column::ALL[1..=offset.min(Column::ALL.len() - 1)]
        .iter()
        .map(|&c| table.width(c) + 1)
        .sum();
    let rest = line.get(pinned + skipped..).unwrap_or_default();
    let mut text = printable_bytes(&line[..pinned]);
    text.push_str(&printable_bytes(rest));
    text
}

/// Bytes as text, with control characters shown as `?` ([`render::printable`]).
fn printable_bytes(bytes: &[u8]) -> String {
    printable(&String::from_utf8_lossy(bytes))
}

/// xentop's bottom line, the active toggles highlighted; the `D` prompt while typing; only
/// the key letters when the terminal is narrow.
fn key_bar(state: &TopState, width: u16) -> Line<'static> {
    if let Some(typed) = &state.prompt {
        return Line::from(format!("Delay(sec): {typed}_"));
    }
    let o = &state.options;
    let items: [(&str, &str, &str, bool); 7] = [
        ("", "D", "elay", false),
        ("", "N", "etworks", o.networks),
        ("v", "B", "ds", o.vbds),
        ("", "V", "CPUs", o.vcpus),
        ("", "R", "epeat header", o.repeat_header),
        ("", "S", "ort order", false),
        ("", "Q", "uit", false),
    ];
    let sort = format!(" [{}]", o.sort.header());
    let full: usize = items
        .iter()
        .map(|(a, k, b, _)| a.len() + k.len() + b.len() + 2)
        .sum::<usize>()
        + sort.len();
    let compact = full > usize::from(width);
    let key_style = Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED);
    let mut spans = Vec::new();
    for (before, key, after, active) in items {
        let base = if active {
            Style::default().add_modifier(Modifier::REVERSED)
        } else {
            Style::default()
        };
        if !compact {
            spans.push(Span::styled(before, base));
        }
        spans.push(Span::styled(key, base.patch(key_style)));
        if !compact {
            spans.push(Span::styled(after, base));
        }
        spans.push(Span::raw(if compact { " " } else { "  " }));
    }
    if !compact {
        spans.push(Span::raw(sort));
    }
    Line::from(spans)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::top_tui::tests::{host_samples, screen};
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use std::time::Duration;
    use xen_core::host::Sample;
    use xen_core::render::xentop::BatchOptions;

    fn state() -> TopState {
        TopState::new(BatchOptions::default(), Duration::from_secs(3))
    }

    #[test]
    fn test_wide_screen_shows_xentop_text() {
        let [first, second] = host_samples();
        let interval = Interval::new(Some(&first), &second);
        let mut s = state();
        let lines = screen(170, 12, &mut s, &interval);
        assert_eq!(
            lines[0].trim_end(),
            "xenadm top - 06:43:31 UTC   Xen 4.17.5"
        );
        assert_eq!(
            lines[1].trim_end(),
            "3 domains: 1 running, 1 blocked, 0 paused, 1 crashed, 0 dying, 1 shutdown"
        );
        assert_eq!(
            lines[2].trim_end(),
            "Mem: 2096128k total, 1137664k used, 958464k free    CPUs: 2 @ 2596MHz"
        );
        assert_eq!(
            lines[3].trim_end(),
            "      NAME  STATE   CPU(sec) CPU(%)     MEM(k) MEM(%)  MAXMEM(k) MAXMEM(%) VCPUS NETS NETTX(k) NETRX(k) VBDS   VBD_OO   VBD_RD   VBD_WR  VBD_RSECT  VBD_WSECT SSID"
        );
        // Sorted by name as xentop: Domain-0, web1, then the odd name (truncated to 10 bytes,
        // its newline shown as `?`). CPU% over the interval (xentop's arithmetic).
        assert_eq!(
            lines[4].trim_end(),
            "  Domain-0 -----r         30    9.8    1048576   50.0    1048576      50.0     2    0        0        0    0        0        0        0          0          0    0"
        );
        assert_eq!(
            lines[5].trim_end(),
            "      web1 --b---          4   11.1      65536    3.1      66560       3.2     1    1        3        2    1        0        7        0        200          0    0"
        );
        assert_eq!(
            lines[6].trim_end(),
            "x y?\"q\"\\s\u{fffd} -s-c--          0    0.0          4    0.0   no limit       n/a     0    0        0        0    0        0        0        0          0          0    0"
        );
        assert!(lines[10].trim_end().is_empty());
        assert!(
            lines[11].starts_with(
                "Delay  Networks  vBds  VCPUs  Repeat header  Sort order  Quit   [NAME]"
            )
        );
    }

    #[test]
    fn test_narrow_screen_keeps_name_and_scrolls_columns() {
        let [first, second] = host_samples();
        let interval = Interval::new(Some(&first), &second);
        let mut s = state();
        let lines = screen(40, 10, &mut s, &interval);
        assert_eq!(lines.len(), 10);
        assert!(lines.iter().all(|l| l.chars().count() == 40));
        assert_eq!(lines[3], "      NAME  STATE   CPU(sec) CPU(%)     ");
        assert_eq!(lines[5], "      web1 --b---          4   11.1     ");
        assert_eq!(lines[9].trim_end(), "D N B V R S Q");
        // Three columns to the right: NAME stays, MEM(%) follows it.
        for _ in 0..5 {
            s.handle_key(KeyEvent::new(KeyCode::Right, KeyModifiers::NONE));
        }
        let lines = screen(40, 10, &mut s, &interval);
        assert_eq!(lines[3], "      NAME  MAXMEM(k) MAXMEM(%) VCPUS NE");
        assert_eq!(lines[5], "      web1      66560       3.2     1   ");
    }

    #[test]
    fn test_details_repeat_header_and_vertical_scroll() {
        let [first, second] = host_samples();
        let interval = Interval::new(Some(&first), &second);
        let mut s = state();
        for c in ['n', 'b', 'v', 'r'] {
            s.handle_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
        }
        let lines = screen(160, 20, &mut s, &interval);
        let header = "      NAME  STATE";
        let headers = lines.iter().filter(|l| l.starts_with(header)).count();
        assert_eq!(headers, 3, "{lines:#?}");
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("VCPUs(sec):   0:         18s  1:         12s"))
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("Net0 RX:     2792bytes       14pkts"))
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("VBD BlkBack 51728 [ca:10]"))
        );
        // Active toggles are shown; the key bar still fits.
        assert!(lines[19].starts_with("Delay  Networks"));
        // Scrolled down one domain: web1 is first, under its header.
        s.handle_key(KeyEvent::new(KeyCode::Down, KeyModifiers::NONE));
        let lines = screen(160, 20, &mut s, &interval);
        assert!(lines[3].starts_with(header));
        assert!(lines[4].starts_with("      web1"));
        // Past the end: clamped to the last domain.
        for _ in 0..10 {
            s.handle_key(KeyEvent::new(KeyCode::Down, KeyModifiers::NONE));
        }
        let _ = screen(160, 20, &mut s, &interval);
        assert_eq!(s.scroll, 2);
    }

    #[test]
    fn test_prompt_message_and_tiny_terminal() {
        let [first, second] = host_samples();
        let interval = Interval::new(Some(&first), &second);
        let mut s = state();
        s.handle_key(KeyEvent::new(KeyCode::Char('d'), KeyModifiers::NONE));
        s.handle_key(KeyEvent::new(KeyCode::Char('2'), KeyModifiers::NONE));
        let lines = screen(40, 10, &mut s, &interval);
        assert_eq!(lines[9].trim_end(), "Delay(sec): 2_");
        s.sample_error = Some("sample failed: gone\nagain".into());
        let lines = screen(40, 10, &mut s, &interval);
        assert_eq!(lines[8].trim_end(), "sample failed: gone?again");
        // 20x4: no summary, still a header, a row and the bar; nothing panics.
        s.prompt = None;
        s.sample_error = None;
        let lines = screen(20, 4, &mut s, &interval);
        assert_eq!(lines[0], "      NAME  STATE   ");
        assert_eq!(lines[3].trim_end(), "D N B V R S Q");
        for (w, h) in [(1, 1), (0, 0), (5, 2), (300, 2)] {
            let _ = screen(w, h, &mut s, &interval);
        }
    }

    #[test]
    fn test_first_sample_and_empty_host() {
        let [first, _] = host_samples();
        let interval = Interval::first(&first);
        let mut s = state();
        let lines = screen(160, 8, &mut s, &interval);
        assert!(
            lines[4].contains("    0.0 "),
            "first sample: CPU% 0.0: {}",
            lines[4]
        );
        let empty = Sample::default();
        let lines = screen(60, 8, &mut s, &Interval::first(&empty));
        assert_eq!(lines[3].trim_end(), "no domains");
    }
}
