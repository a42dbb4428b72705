//! Replacing users' files safely: every file of a group or none, never a half-written file,
//! never over an edit made since the file was read.
//!
//! [`replace_all`] stages each new text in a temporary file next to its target (same
//! permissions, flushed to disk), checks just before renaming that every target still holds
//! the bytes it was read with, renames them all, and flushes the directories. A read-only file
//! is refused (the tool never changes permissions). If anything fails before the renames,
//! nothing is renamed; if a rename fails, the files already renamed get their original bytes
//! back. The binary writes each crate's files (its `Cargo.toml` included) as one group, and
//! `apply --verify`'s fixes go through here too.
//!
//! Between the last comparison and the rename a concurrent writer can still slip in; the window
//! is the time of one rename per file, not the time of the whole run.
//!
//! ```
//! use lumenize_codemod::write::{replace_all, Replace};
//! let dir = tempfile::tempdir()?;
//! let (a, b) = (dir.path().join("a.rs"), dir.path().join("b.rs"));
//! std::fs::write(&a, "old a")?;
//! std::fs::write(&b, "old b")?;
//! replace_all(&[
//!     Replace { path: &a, original: b"old a", contents: b"new a" },
//!     Replace { path: &b, original: b"old b", contents: b"new b" },
//! ])?;
//! assert_eq!(std::fs::read_to_string(&b)?, "new b");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

/// One file to replace.
#[derive(Debug, Clone, Copy)]
pub struct Replace<'a> {
    /// The file (a symlink is followed: the link stays, its target is replaced).
    pub path: &'a Path,
    /// The bytes the file held when it was read; it is not replaced if it holds others now.
    pub original: &'a [u8],
    /// The new bytes.
    pub contents: &'a [u8],
}

/// Why a group of files was not replaced (none of them was).
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The file's permissions forbid writing; it is left alone rather than chmod-ed.
    #[error("{path}: the file is read-only; make it writable (e.g. `chmod u+w`) or leave it out", path = .0.display())]
    ReadOnly(PathBuf),
    /// The file changed on disk after it was read.
    #[error("{path}: the file changed on disk while the tool ran; it was not overwritten (run again)", path = .0.display())]
    ChangedOnDisk(PathBuf),
    /// Reading, staging or renaming failed.
    #[error("{path}: {1}", path = .0.display())]
    Io(PathBuf, #[source] std::io::Error),
}

impl WriteError {
    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            WriteError::ReadOnly(p) | WriteError::ChangedOnDisk(p) | WriteError::Io(p, _) => p,
        }
    }
}

/// A staged file: its canonical target and the temporary file holding the new text.
struct Staged {
    target: PathBuf,
    tmp: tempfile::NamedTempFile,
}

/// Replaces every file in `files`, or none of them (see the module docs).
pub fn replace_all(files: &[Replace]) -> Result<(), WriteError> {
    let staged = files
        .iter()
        .map(stage)
        .collect::<Result<Vec<Staged>, WriteError>>()?;
    for (f, s) in files.iter().zip(&staged) {
        let now = std::fs::read(&s.target).map_err(|e| WriteError::Io(f.path.into(), e))?;
        if now != f.original {
            return Err(WriteError::ChangedOnDisk(f.path.to_path_buf()));
        }
    }
    let mut dirs = BTreeSet::new();
    let mut done: Vec<(&Replace, PathBuf)> = Vec::with_capacity(files.len());
    for (f, s) in files.iter().zip(staged) {
        let target = s.target;
        if let Err(e) = s.tmp.persist(&target) {
            let err = WriteError::Io(f.path.to_path_buf(), e.error);
            restore(&done);
            return Err(err);
        }
        if let Some(dir) = target.parent() {
            dirs.insert(dir.to_path_buf());
        }
        done.push((f, target));
    }
    // The renames are durable only once their directories are.
    for dir in dirs {
        sync_dir(&dir).map_err(|e| WriteError::Io(dir.clone(), e))?;
    }
    Ok(())
}

fn stage(f: &Replace) -> Result<Staged, WriteError> {
    let io = |e| WriteError::Io(f.path.to_path_buf(), e);
    let target = std::fs::canonicalize(f.path).map_err(io)?;
    let meta = std::fs::metadata(&target).map_err(io)?;
    if !meta.is_file() {
        return Err(io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        )));
    }
    let perms = meta.permissions();
    if perms.readonly() {
        return Err(WriteError::ReadOnly(f.path.to_path_buf()));
    }
    let dir = target.parent().ok_or_else(|| {
        io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "file has no parent directory",
        ))
    })?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".lumenize-codemod.")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(io)?;
    tmp.write_all(f.contents).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    std::fs::set_permissions(tmp.path(), perms).map_err(io)?;
    Ok(Staged { target, tmp })
}

/// Puts the original bytes back into files already renamed (best effort: this runs only
/// when a rename failed, and the first error is the one reported).
fn restore(done: &[(&Replace, PathBuf)]) {
    for (f, target) in done {
        let back = Replace {
            path: target,
            original: f.contents,
            contents: f.original,
        };
        let _ = stage(&back).map(|s| s.tmp.persist(&s.target));
    }
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> std::io::Result<()> {
    // Windows cannot open a directory as a file; its renames are flushed with the volume.
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn a_file_edited_after_reading_is_not_overwritten_and_nor_is_its_group() {
        let dir = tempfile::tempdir().unwrap();
        let a = put(dir.path(), "a.rs", "old a");
        let b = put(dir.path(), "b.rs", "old b");
        // The user saved b.rs after the tool read it.
        std::fs::write(&b, "user's edit").unwrap();
        let err = replace_all(&[
            Replace {
                path: &a,
                original: b"old a",
                contents: b"new a",
            },
            Replace {
                path: &b,
                original: b"old b",
                contents: b"new b",
            },
        ])
        .unwrap_err();
        assert!(
            matches!(err, WriteError::ChangedOnDisk(ref p) if p == &b),
            "{err}"
        );
        assert_eq!(std::fs::read_to_string(&a).unwrap(), "old a");
        assert_eq!(std::fs::read_to_string(&b).unwrap(), "user's edit");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            2,
            "no temp file left"
        );
    }

    #[cfg(unix)]
    #[test]
    fn read_only_files_are_refused_not_chmodded_and_permissions_are_kept() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let a = put(dir.path(), "a.rs", "old a");
        std::fs::set_permissions(&a, std::fs::Permissions::from_mode(0o751)).unwrap();
        let ro = put(dir.path(), "ro.rs", "old ro");
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o444)).unwrap();
        let both = [
            Replace {
                path: &a,
                original: b"old a",
                contents: b"new a",
            },
            Replace {
                path: &ro,
                original: b"old ro",
                contents: b"new ro",
            },
        ];
        let err = replace_all(&both).unwrap_err();
        assert!(
            matches!(err, WriteError::ReadOnly(ref p) if p == &ro),
            "{err}"
        );
        assert!(err.to_string().contains("read-only"));
        assert_eq!(std::fs::read_to_string(&a).unwrap(), "old a");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&ro), 0o444);
        replace_all(&both[..1]).unwrap();
        assert_eq!(std::fs::read_to_string(&a).unwrap(), "new a");
        assert_eq!(mode(&a), 0o751);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            2,
            "no temp file left"
        );
    }
}
