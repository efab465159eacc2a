//! A stream of samples as text: `xentop -b`'s table, NDJSON or CSV, one sample after the
//! other, each with CPU% and rates over the interval since the one before.

use crate::XenError;
use crate::host::{Host, HostBackend, Interval, Sample, SampleFlags};
use crate::render::xentop::{self, BatchOptions};
use crate::render::{csv, json};

/// What each sample is written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleFormat {
    /// `xentop -b`'s table ([`xentop::write_iteration`]).
    Table,
    /// One JSON object per domain per line ([`json::write_sample`]).
    Json,
    /// A header, then one row per domain per sample ([`csv::write_sample`]).
    Csv,
}

/// Samples a host and renders each sample: what `xenadm top -b`, `--json` and `--csv` print.
#[derive(Debug)]
pub struct SampleStream {
    format: SampleFormat,
    options: BatchOptions,
    previous: Option<Sample>,
    done: u64,
    buffer: Vec<u8>,
}

impl SampleStream {
    /// A stream in `format`; the table's details and order come from `options`.
    pub fn new(format: SampleFormat, options: BatchOptions) -> SampleStream {
        SampleStream {
            format,
            options,
            previous: None,
            done: 0,
            buffer: Vec::with_capacity(64 * 1024),
        }
    }

    /// Takes the next sample of `host` and returns its text (the CSV header before the
    /// first). Networks and VBDs are always read, vCPUs when the table shows them.
    pub fn next<B: HostBackend>(&mut self, host: &mut Host<B>) -> Result<&[u8], XenError> {
        let mut flags = SampleFlags::NETWORKS | SampleFlags::VBDS;
        if self.options.vcpus {
            flags |= SampleFlags::VCPUS;
        }
        let sample = host.sample(flags)?;
        self.buffer.clear();
        let out = &mut self.buffer;
        let interval = Interval::new(self.previous.as_ref(), &sample);
        // Writing into a Vec cannot fail.
        let _ = match self.format {
            SampleFormat::Table => xentop::write_iteration(out, &interval, &self.options),
            SampleFormat::Json => json::write_sample(out, &interval, self.done),
            SampleFormat::Csv if self.done == 0 => {
                csv::write_header(out).and_then(|()| csv::write_sample(out, &interval, self.done))
            }
            SampleFormat::Csv => csv::write_sample(out, &interval, self.done),
        };
        self.done += 1;
        self.previous = Some(sample);
        Ok(&self.buffer)
    }

    /// Samples taken so far.
    pub fn count(&self) -> u64 {
        self.done
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::{DomId, DomainName, DomainStats, HostInfo, RecordedBackend};

    fn host() -> Host<RecordedBackend> {
        let dom0 = DomainStats {
            domid: DomId(0),
            name: DomainName::new("Domain-0"),
            cpu_time_ns: 1_000_000_000,
            ..Default::default()
        };
        let first = Sample {
            monotonic_ns: 1_000_000_000,
            domains: vec![dom0],
            ..Default::default()
        };
        let mut second = first.clone();
        second.monotonic_ns += 1_000_000_000;
        second.domains[0].cpu_time_ns += 500_000_000;
        Host::with_backend(RecordedBackend::new(
            HostInfo::default(),
            vec![first, second],
        ))
    }

    #[test]
    fn test_csv_header_once_and_cpu_over_the_interval() {
        let mut host = host();
        let mut stream = SampleStream::new(SampleFormat::Csv, BatchOptions::default());
        let first = String::from_utf8(stream.next(&mut host).unwrap().to_vec()).unwrap();
        let second = String::from_utf8(stream.next(&mut host).unwrap().to_vec()).unwrap();
        assert_eq!(stream.count(), 2);
        assert_eq!(first.lines().count(), 2, "{first}");
        assert_eq!(second.lines().count(), 1, "{second}");
        let header: Vec<&str> = first.lines().next().unwrap().split(',').collect();
        let cpu = header.iter().position(|h| *h == "cpu_percent").unwrap();
        let value = second.trim_end().split(',').nth(cpu).unwrap();
        assert_eq!(value.parse::<f64>().ok(), Some(50.0), "{second}");
        assert!(stream.next(&mut host).is_err());
    }

    #[test]
    fn test_table_is_xentop_batch() {
        let mut host = host();
        let mut stream = SampleStream::new(SampleFormat::Table, BatchOptions::default());
        let text = String::from_utf8(stream.next(&mut host).unwrap().to_vec()).unwrap();
        assert!(text.starts_with("      NAME  STATE"), "{text}");
        assert!(text.contains("  Domain-0 "), "{text}");
    }
}
