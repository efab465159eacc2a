//! `xenadm image ...`: real usage and overcommit, extent maps, safe growth with loop-device
//! refresh, and the loop devices of an image.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};

use clap::{ArgGroup, Args, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use nix::sys::signal::Signal;
use serde::Serialize;
use sparse_img::render;
use sparse_img::{
    ByteSize, ExtentMap, GrowImageOptions, GrowMode, GrowOptions, GrowReport, GrowTarget,
    ImagesStatus, MapMethod, Progress, SparseImgError, UsageOptions,
};

use xen_core::vbd::{OnlineGrowReport, OnlineOptions};

use super::signals::{StopSignals, signal_exit_code, signal_name};
use super::status::Section;
use crate::error::CliError;
use crate::output::Output;

/// Where Xen images live unless paths are given.
pub const DEFAULT_FOLDER: &str = "/var/lib/xen/images";

/// `xenadm image ...`
#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// Real usage per image (apparent size, allocated bytes, extents) and per filesystem (free
    /// space, and whether the images could outgrow it).
    Usage(UsageArgs),
    /// The extent list of an image: data, holes and unwritten (fallocated) ranges.
    Map(MapArgs),
    /// Grow a raw image safely (never shrinks, never writes below the old end), then let its
    /// loop devices see the new size.
    Grow(GrowArgs),
    /// The loop devices backed by an image, as `losetup -j` prints them.
    Loops(LoopsArgs),
}

/// `xenadm image usage`
#[derive(Debug, Args)]
pub struct UsageArgs {
    /// Image files or folders of images [default: /var/lib/xen/images].
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Sizes only: do not map extents (faster with many images).
    #[arg(long)]
    pub no_extents: bool,
    /// How many levels of subfolders to look into.
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub depth: usize,
}

/// `xenadm image map`
#[derive(Debug, Args)]
pub struct MapArgs {
    /// The image.
    pub path: PathBuf,
    /// How to map it.
    #[arg(long, value_enum, default_value_t = MapMethodArg::Auto)]
    pub method: MapMethodArg,
}

/// `xenadm image map --method`
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MapMethodArg {
    /// FIEMAP, or SEEK_DATA/SEEK_HOLE where the filesystem has no FIEMAP.
    Auto,
    /// FIEMAP only (tells unwritten ranges apart).
    Fiemap,
    /// SEEK_DATA/SEEK_HOLE only (unwritten ranges show as holes).
    SeekData,
}

/// `xenadm image grow`
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("size").required(true).args(["to", "by"])))]
pub struct GrowArgs {
    /// The raw image file.
    pub path: PathBuf,
    /// New total size: bytes, K/M/G/T or KiB/MiB/GiB/TiB (binary, as dd and qemu-img read
    /// them), KB/MB/GB/TB (decimal). `--to 16000M` is dd's `bs=1M seek=16000`.
    #[arg(long, value_name = "SIZE", allow_hyphen_values = true)]
    pub to: Option<ByteSize>,
    /// Grow by this much (same units).
    #[arg(long, value_name = "SIZE", allow_hyphen_values = true)]
    pub by: Option<ByteSize>,
    /// Make the new range a hole (instant, uses no space until the guest writes).
    /// Default: keep the image's nature (sparse stays sparse, allocated stays allocated).
    #[arg(long, conflicts_with = "allocate")]
    pub sparse: bool,
    /// Reserve the new range now (fallocate; zeros are written where unsupported).
    #[arg(long)]
    pub allocate: bool,
    /// Write zeros over the new range (slow; for tests of interrupted growth).
    #[arg(long, hide = true, conflicts_with_all = ["sparse", "allocate"])]
    pub zero_fill: bool,
    /// Do not refresh the loop devices backed by the image.
    #[arg(long)]
    pub no_loop: bool,
    /// Check everything and say what would be done, changing nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Treat the file as raw even if its first bytes look like a qcow2 (or other) header: a
    /// guest can write such bytes to its own disk.
    #[arg(long)]
    pub assume_raw: bool,
}

/// `xenadm image loops`
#[derive(Debug, Args)]
pub struct LoopsArgs {
    /// The image.
    pub path: PathBuf,
}

/// Runs one `xenadm image` subcommand.
pub fn run(command: &ImageCommand, out: &Output) -> Result<u8, CliError> {
    match command {
        ImageCommand::Usage(args) => usage(args, out),
        ImageCommand::Map(args) => map(args, out),
        ImageCommand::Grow(args) => grow(args, out),
        ImageCommand::Loops(args) => loops(args, out),
    }
}

// ---------------------------------------------------------------------------------------------
// usage

fn usage(args: &UsageArgs, out: &Output) -> Result<u8, CliError> {
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(DEFAULT_FOLDER)]
    } else {
        args.paths.clone()
    };
    let mut options = UsageOptions::default();
    options.extents = !args.no_extents;
    options.max_depth = args.depth;
    let report = sparse_img::usage(&paths, &options)?;
    for skipped in &report.skipped {
        out.warn(format_args!("skipped: {}", skipped.error));
    }
    if out.json {
        out.print_json(&report)?;
    } else {
        out.print(&render::usage_text(&report))?;
    }
    Ok(0)
}

// ---------------------------------------------------------------------------------------------
// map

/// `image map --json`: the map with the path it was read from.
#[derive(Debug, Serialize)]
struct MapJson<'a> {
    path: &'a Path,
    #[serde(flatten)]
    map: &'a ExtentMap,
}

fn map(args: &MapArgs, out: &Output) -> Result<u8, CliError> {
    let method = match args.method {
        MapMethodArg::Auto => MapMethod::Auto,
        MapMethodArg::Fiemap => MapMethod::Fiemap,
        MapMethodArg::SeekData => MapMethod::SeekData,
    };
    let map = ExtentMap::read_with(&args.path, method)?;
    if out.json {
        // Serialized in memory first: stdout is line-buffered, and a map can have hundreds of
        // thousands of lines.
        let mut text = serde_json::to_string_pretty(&MapJson {
            path: &args.path,
            map: &map,
        })?;
        text.push('\n');
        out.print(&text)?;
    } else {
        render::map_text(&args.path, &map, |chunk| out.print(chunk))?;
    }
    Ok(0)
}

// ---------------------------------------------------------------------------------------------
// loops

fn loops(args: &LoopsArgs, out: &Output) -> Result<u8, CliError> {
    let devices = sparse_img::loops_for(&args.path)?;
    if out.json {
        out.print_json(&devices)?;
    } else {
        let mut text = String::new();
        for device in &devices {
            text.push_str(&device.losetup_line());
            text.push('\n');
        }
        out.print(&text)?;
    }
    Ok(0)
}

// ---------------------------------------------------------------------------------------------
// grow

/// A progress bar on stderr while allocating (only when stderr is a terminal), and the stop
/// signals: blocked during the growth, where they cancel it, and let through again once the
/// growth is final ([`Progress::grown`]).
#[derive(Debug, Default)]
struct Bar {
    bar: Option<ProgressBar>,
    signals: Option<StopSignals>,
    /// The stop signal that came while the growth was being finished (it was not cut back).
    late: Option<Signal>,
}

impl Progress for Bar {
    fn cancelled(&mut self) -> bool {
        self.signals.as_mut().is_some_and(StopSignals::poll)
    }

    fn start(&mut self, total_bytes: u64) {
        if !std::io::stderr().is_terminal() {
            return;
        }
        let bar = ProgressBar::with_draw_target(Some(total_bytes), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template(
            "allocating {wide_bar} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} eta {eta}",
        ) {
            bar.set_style(style);
        }
        self.bar = Some(bar);
    }

    fn advance(&mut self, done_bytes: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(done_bytes);
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }

    fn grown(&mut self, _report: &GrowReport) {
        self.late = self.signals.take().and_then(StopSignals::release);
    }
}

/// `image grow --json`: the library's report (the growth, loop devices, and in a Xen dom0 the
/// guests that use the image) and the next steps.
#[derive(Debug, Serialize)]
struct GrowJson<'a> {
    #[serde(flatten)]
    report: &'a OnlineGrowReport,
    next_steps: &'a [String],
}

fn grow(args: &GrowArgs, out: &Output) -> Result<u8, CliError> {
    let target = match (args.to, args.by) {
        (Some(size), _) => GrowTarget::To(size),
        (None, Some(size)) => GrowTarget::By(size),
        // clap requires one of them.
        (None, None) => GrowTarget::By(ByteSize::from_bytes(0)),
    };
    let mut grow = GrowOptions::new(target);
    grow.mode = if args.sparse {
        GrowMode::Sparse
    } else if args.allocate {
        GrowMode::Allocate
    } else if args.zero_fill {
        GrowMode::ZeroFill
    } else {
        GrowMode::Keep
    };
    grow.dry_run = args.dry_run;
    grow.assume_raw = args.assume_raw;
    let mut options = GrowImageOptions::new(grow);
    options.refresh_loops = !args.no_loop;

    let mut bar = Bar::default();
    if !args.dry_run {
        bar.signals = Some(StopSignals::block()?);
    }
    let online = OnlineOptions::default();
    let grown = xen_core::vbd::grow_image_online(&args.path, &options, &online, &mut bar);
    let mut online_report = match grown {
        Err(err @ SparseImgError::Interrupted { .. }) => {
            let signal = bar.signals.take().and_then(StopSignals::release);
            out.warn(format_args!("{}: {err}", signal_name(signal)));
            return Ok(signal.map_or(130, signal_exit_code));
        }
        other => other?,
    };
    let image = &online_report.image;
    let report = &image.grow;
    if let Some(note) = render::grow_resume_note(report) {
        out.warn(note);
    }
    if bar.late.is_some() {
        out.warn(format_args!(
            "{}: came when the growth was done: {} is at its new size, {} bytes, synced",
            signal_name(bar.late),
            report.path.display(),
            report.new_size_bytes
        ));
    }
    for warning in render::grow_loop_warnings(image) {
        out.warn(warning);
    }
    let steps = render::grow_next_steps(image);
    if let Some(warning) = render::grow_overcommit_warning(report) {
        out.warn(warning);
    }
    if out.json {
        out.print_json(&GrowJson {
            report: &online_report,
            next_steps: &steps,
        })?;
    } else {
        let mut text = render::grow_text(image, &steps);
        if let Some(guests) = &online_report.guests {
            text.push_str(&xen_core::vbd::guests_text(guests));
        }
        out.print(&text)?;
    }
    // A guest that does not see the new size fails the command after the report (the growth
    // itself stays); guests that could not be looked up (not root, no xenstored) are a warning.
    let mut guests_failed = false;
    if let Some(guests) = &online_report.guests {
        for warning in xen_core::vbd::guests_warnings(guests) {
            out.warn(warning);
        }
        guests_failed = guests.unconfirmed().next().is_some();
    }
    match online_report.image.take_loop_errors().into_iter().next() {
        Some(err) => Err(err.into()),
        None if guests_failed => Ok(1),
        None => Ok(bar.late.map_or(0, signal_exit_code)),
    }
}

// ---------------------------------------------------------------------------------------------
// status and hints

/// The Images section of `xenadm status`: the default folder's totals and overcommit. Never
/// fails: when the folder cannot be read it says why.
pub fn status_section() -> Section {
    let status = ImagesStatus::read(Path::new(DEFAULT_FOLDER));
    Section {
        key: "images",
        title: "Images",
        rows: status.rows(),
        json: serde_json::to_value(&status).unwrap_or_default(),
    }
}

/// What the administrator can do about an error: the fixes that name xenadm's own commands
/// and options here, the rest from [`SparseImgError::fix`].
pub fn hint(err: &SparseImgError) -> Option<&'static str> {
    Some(match err {
        SparseImgError::NotAFile { .. } => {
            "give an image file; to grow an LVM volume use `lvextend`, to see a folder's images use `xenadm image usage FOLDER`"
        }
        SparseImgError::NotLarger { .. } => {
            "give a size larger than the current one with --to, or an increment with --by (e.g. --by 10G); to shrink, shrink the guest's filesystem and copy it to a new, smaller image"
        }
        SparseImgError::NoSpace { .. } => {
            "free space on that filesystem, or grow sparse with --sparse (space is then taken only as the guest writes: watch `xenadm image usage`)"
        }
        SparseImgError::Busy { .. } => "wait for the other `xenadm image grow` to finish",
        SparseImgError::BadJournal { .. } => {
            "make sure no `xenadm image grow` of this image is running, then remove that file and run the command again"
        }
        SparseImgError::Loop { .. } => {
            "the image itself has grown; run as root, list the devices with `xenadm image loops IMAGE` and retry with `losetup -c DEVICE`"
        }
        _ => return err.fix(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_every_refusal_has_a_hint() {
        let path = PathBuf::from("x.img");
        let errors = [
            SparseImgError::NotFound { path: path.clone() },
            SparseImgError::NotLarger {
                path: path.clone(),
                current_bytes: 2,
                target_bytes: 1,
            },
            SparseImgError::NoSpace {
                path: path.clone(),
                needed_bytes: 2,
                available_bytes: 1,
            },
            SparseImgError::ForeignFormat {
                path,
                format: sparse_img::ImageFormat::Qcow2,
            },
        ];
        for err in &errors {
            assert!(hint(err).is_some(), "{err:?}");
        }
        assert!(hint(&errors[3]).unwrap().contains("qemu-img resize"));
    }
}
