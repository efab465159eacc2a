//! The grow journal: what a growth is doing, so an interrupted one can be finished.
//!
//! Before it changes the image, [`grow`](crate::grow()) writes `.NAME.xenadm-grow` next to
//! it (temp file `.NAME.xenadm-grow.new`, fsync, rename, fsync of the folder) with the old
//! size, the target size and the method; after the final fsync of the image it removes it.
//! Both names are only written under the image's exclusive `flock`, so two writers never
//! share them and a leftover `.new` of a killed run is simply replaced or removed.
//!
//! ```text
//! xenadm grow journal 1
//! old_size_bytes=33554432
//! target_size_bytes=100663296
//! method=zero_fill
//! ```

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read as _, Write as _};
use std::path::{Path, PathBuf};

use crate::grow::GrowMethod;

const MAGIC: &str = "xenadm grow journal 1";
/// The journal's suffix: `.NAME` + this, next to the image.
pub const JOURNAL_SUFFIX: &str = ".xenadm-grow";
/// A journal is a few lines; anything longer is not one.
const MAX_JOURNAL_BYTES: u64 = 4096;

/// A growth in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Journal {
    pub old: u64,
    pub target: u64,
    pub method: GrowMethod,
}

/// `.NAME.xenadm-grow` next to `image`.
pub fn journal_path(image: &Path) -> PathBuf {
    let name = image.file_name().unwrap_or_default().to_string_lossy();
    image.with_file_name(format!(".{name}{JOURNAL_SUFFIX}"))
}

fn temp_path(image: &Path) -> PathBuf {
    let mut path = journal_path(image).into_os_string();
    path.push(".new");
    PathBuf::from(path)
}

fn folder(image: &Path) -> &Path {
    image
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

fn sync_folder(image: &Path) -> io::Result<()> {
    File::open(folder(image))?.sync_all()
}

impl Journal {
    fn to_text(self) -> String {
        format!(
            "{MAGIC}\nold_size_bytes={}\ntarget_size_bytes={}\nmethod={}\n",
            self.old,
            self.target,
            self.method.name()
        )
    }

    fn parse(text: &str) -> Option<Journal> {
        let mut lines = text.lines();
        if lines.next()? != MAGIC {
            return None;
        }
        let mut value = |key: &str| {
            lines
                .next()?
                .strip_prefix(key)?
                .strip_prefix('=')
                .map(str::to_string)
        };
        let old = value("old_size_bytes")?.parse().ok()?;
        let target = value("target_size_bytes")?.parse().ok()?;
        let method = match value("method")?.as_str() {
            "truncate" => GrowMethod::Truncate,
            "fallocate" => GrowMethod::Fallocate,
            "zero_fill" => GrowMethod::ZeroFill,
            _ => return None,
        };
        (old < target).then_some(Journal {
            old,
            target,
            method,
        })
    }
}

/// The journal of `image`: `Ok(None)` when there is none, `Ok(Some(None))` when there is a
/// file of that name that is not a journal.
pub(crate) fn read(image: &Path) -> io::Result<Option<Option<Journal>>> {
    let mut text = String::new();
    match File::open(journal_path(image)) {
        Ok(f) => {
            if f.take(MAX_JOURNAL_BYTES).read_to_string(&mut text).is_err() {
                return Ok(Some(None));
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    }
    Ok(Some(Journal::parse(&text)))
}

/// Writes the journal atomically (temp file, fsync, rename, fsync of the folder).
pub(crate) fn write(image: &Path, journal: Journal) -> io::Result<()> {
    let temp = temp_path(image);
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&temp)?;
    file.write_all(journal.to_text().as_bytes())?;
    file.sync_all()?;
    fs::rename(&temp, journal_path(image))?;
    sync_folder(image)
}

/// Removes the journal and a leftover temp file, then syncs the folder.
pub(crate) fn remove(image: &Path) -> io::Result<()> {
    for path in [temp_path(image), journal_path(image)] {
        match fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    sync_folder(image)
}

/// Removes a leftover temp file of a run killed while writing the journal.
pub(crate) fn remove_leftover_temp(image: &Path) -> io::Result<()> {
    match fs::remove_file(temp_path(image)) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_round_trip_and_names() {
        let dir = tempfile::tempdir().unwrap();
        let image = dir.path().join("guest.img");
        assert_eq!(read(&image).unwrap(), None);
        let j = Journal {
            old: 32 << 20,
            target: 96 << 20,
            method: GrowMethod::ZeroFill,
        };
        write(&image, j).unwrap();
        assert_eq!(read(&image).unwrap(), Some(Some(j)));
        assert!(dir.path().join(".guest.img.xenadm-grow").exists());
        assert!(!dir.path().join(".guest.img.xenadm-grow.new").exists());
        remove(&image).unwrap();
        assert_eq!(read(&image).unwrap(), None);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn test_not_a_journal() {
        for text in [
            "",
            "xenadm grow journal 1\n",
            "xenadm grow journal 1\nold_size_bytes=5\ntarget_size_bytes=4\nmethod=truncate\n",
            "xenadm grow journal 1\nold_size_bytes=5\ntarget_size_bytes=9\nmethod=dd\n",
            "xenadm grow journal 2\nold_size_bytes=5\ntarget_size_bytes=9\nmethod=truncate\n",
        ] {
            assert_eq!(Journal::parse(text), None, "{text:?}");
        }
    }
}
