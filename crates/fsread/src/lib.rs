//! Reading a repository or user-supplied file safely: only a regular file, never
//! blocking, never more than a stated number of bytes.
//!
//! Every file avalanche-net reads comes from a repository or a user: the
//! declarations and their imports, `.sops.yaml`, SOPS files, `flake.nix`, the age
//! key file, `--from`. Any of them may be a symlink to `/dev/zero` (an unbounded
//! read), a FIFO (an `open` that blocks forever) or a huge file. [`read`] refuses
//! all three with an error that says which, and states the limit:
//!
//! ```
//! let err = avalanche_fsread::read(std::path::Path::new("/dev/zero"), 1 << 20).unwrap_err();
//! assert_eq!(err.to_string(), "/dev/zero is a character device, not a regular file");
//! ```
//!
//! The crates that read files (`avalanche-nix`, `avalanche-sops`, the binary)
//! share this one helper, so the rule is written once.
#![deny(missing_docs)]

use std::fs::File;
use std::io::Read as _;
use std::os::unix::fs::{FileTypeExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Nothing at that path.
    #[error("{} does not exist", path.display())]
    NotFound {
        /// The path, as given.
        path: PathBuf,
    },
    /// A directory, FIFO, device or socket.
    #[error("{} is {kind}, not a regular file", path.display())]
    NotRegular {
        /// The path, as given.
        path: PathBuf,
        /// What it is (`a FIFO`, `a character device`, …).
        kind: &'static str,
    },
    /// Larger than the caller's limit.
    #[error("{} is {size} bytes, over the limit of {limit} bytes for this file", path.display())]
    TooLarge {
        /// The path, as given.
        path: PathBuf,
        /// Its size (at least; it may still be growing).
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// Not UTF-8 (from [`read_text`]).
    #[error("{} is not UTF-8 text (invalid byte at line {line}, column {column})", path.display())]
    NotText {
        /// The path, as given.
        path: PathBuf,
        /// 1-based line of the first invalid byte.
        line: usize,
        /// 1-based column (in bytes) of the first invalid byte.
        column: usize,
        /// Byte offset of the first invalid byte.
        offset: usize,
    },
    /// Any other I/O error.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The path, as given.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

impl ReadError {
    /// The path the error is about.
    pub fn path(&self) -> &Path {
        match self {
            ReadError::NotFound { path }
            | ReadError::NotRegular { path, .. }
            | ReadError::TooLarge { path, .. }
            | ReadError::NotText { path, .. }
            | ReadError::Io { path, .. } => path,
        }
    }

    /// True when nothing exists at the path.
    pub fn is_not_found(&self) -> bool {
        matches!(self, ReadError::NotFound { .. })
    }
}

fn kind_of(file_type: std::fs::FileType) -> &'static str {
    if file_type.is_dir() {
        "a directory"
    } else if file_type.is_fifo() {
        "a FIFO (named pipe)"
    } else if file_type.is_char_device() {
        "a character device"
    } else if file_type.is_block_device() {
        "a block device"
    } else if file_type.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

fn io_error(path: &Path, source: std::io::Error) -> ReadError {
    if source.kind() == std::io::ErrorKind::NotFound {
        ReadError::NotFound {
            path: path.to_path_buf(),
        }
    } else {
        ReadError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Opens `path` (following symlinks) if it is a regular file, and returns it with
/// its size. A FIFO or device is refused before it is opened; the open itself is
/// non-blocking and the type is checked again on the open file (the path may have
/// been swapped in between).
pub fn open(path: &Path) -> Result<(File, u64), ReadError> {
    let meta = std::fs::metadata(path).map_err(|e| io_error(path, e))?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular {
            path: path.to_path_buf(),
            kind: kind_of(meta.file_type()),
        });
    }
    let flags = rustix::fs::OFlags::NONBLOCK | rustix::fs::OFlags::NOCTTY;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags.bits() as i32)
        .open(path)
        .map_err(|e| io_error(path, e))?;
    let meta = file.metadata().map_err(|e| io_error(path, e))?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular {
            path: path.to_path_buf(),
            kind: kind_of(meta.file_type()),
        });
    }
    Ok((file, meta.len()))
}

/// Reads all of the regular file `path`, refusing anything over `limit` bytes
/// (checked on its size, then while reading, so a growing file cannot exceed it).
pub fn read(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let (file, size) = open(path)?;
    read_open(file, size, path, limit)
}

/// Reads `file` (opened by [`open`], `size` bytes) up to `limit` bytes.
pub fn read_open(file: File, size: u64, path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let too_large = |size| ReadError::TooLarge {
        path: path.to_path_buf(),
        size,
        limit,
    };
    if size > limit {
        return Err(too_large(size));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0).saturating_add(1));
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| io_error(path, e))?;
    if bytes.len() as u64 > limit {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

/// Reads all of `file`, expected to hold `len` bytes: a size the caller has just
/// had from `stat` (the file may have changed since: the result is whatever it
/// holds now). Usually two `read` calls, the content then the end of file:
/// `File::read_to_end` would ask the kernel for the size again (`fstat`, then
/// `lseek`), and the writer and the listing read tens of thousands of files per
/// run for a large network.
pub fn read_sized(file: &mut File, len: u64) -> std::io::Result<Vec<u8>> {
    let expected = usize::try_from(len).unwrap_or(0);
    let mut bytes = vec![0; expected.saturating_add(1).max(64)];
    let mut filled = 0;
    loop {
        match file.read(&mut bytes[filled..]) {
            Ok(0) => break,
            Ok(n) => {
                filled += n;
                if filled == bytes.len() {
                    bytes.resize(bytes.len().saturating_mul(2), 0);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    bytes.truncate(filled);
    Ok(bytes)
}

/// What is at `path` itself, for a writer about to replace it: the bytes of a
/// regular file, `None` when nothing is there (or a parent is a regular file).
/// A symlink is not followed: it is refused, as a directory, FIFO or device is.
pub fn read_existing(path: &Path) -> Result<Option<Vec<u8>>, ReadError> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if absent(&e) => return Ok(None),
        Err(e) => return Err(io_error(path, e)),
    };
    let not_regular = |file_type: std::fs::FileType| ReadError::NotRegular {
        path: path.to_path_buf(),
        kind: if file_type.is_symlink() {
            "a symlink"
        } else {
            kind_of(file_type)
        },
    };
    if !meta.is_file() {
        return Err(not_regular(meta.file_type()));
    }
    let flags =
        rustix::fs::OFlags::NONBLOCK | rustix::fs::OFlags::NOCTTY | rustix::fs::OFlags::NOFOLLOW;
    let mut file = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags.bits() as i32)
        .open(path)
    {
        Ok(file) => file,
        Err(e) if absent(&e) => return Ok(None),
        Err(e) => return Err(io_error(path, e)),
    };
    let meta = file.metadata().map_err(|e| io_error(path, e))?;
    if !meta.is_file() {
        return Err(not_regular(meta.file_type()));
    }
    read_sized(&mut file, meta.len())
        .map(Some)
        .map_err(|e| io_error(path, e))
}

/// Not there: missing, or a parent is a regular file.
fn absent(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
    )
}

/// [`read`], then UTF-8: an invalid byte is reported with its line and column.
pub fn read_text(path: &Path, limit: u64) -> Result<String, ReadError> {
    let bytes = read(path, limit)?;
    utf8(path, bytes)
}

/// `bytes` (the contents of `path`) as a string, or [`ReadError::NotText`]
/// locating the first invalid byte.
pub fn utf8(path: &Path, bytes: Vec<u8>) -> Result<String, ReadError> {
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let before = &e.as_bytes()[..offset];
        let line = before.iter().filter(|b| **b == b'\n').count() + 1;
        let line_start = before
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |n| n + 1);
        ReadError::NotText {
            path: path.to_path_buf(),
            line,
            column: offset - line_start + 1,
            offset,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn devices_fifos_and_directories_are_refused_without_blocking() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fifo = dir.path().join(format!("fifo-{}", std::process::id()));
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo");
        assert!(status.success());
        let link = dir.path().join("zero.nix");
        std::os::unix::fs::symlink("/dev/zero", &link).expect("symlink");
        let started = Instant::now();
        for (path, kind) in [
            (fifo.as_path(), "a FIFO (named pipe)"),
            (link.as_path(), "a character device"),
            (dir.path(), "a directory"),
        ] {
            match read(path, 1 << 20) {
                Err(ReadError::NotRegular { kind: k, .. }) => assert_eq!(k, kind),
                other => panic!("{}: {other:?}", path.display()),
            }
        }
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(read(&dir.path().join("absent"), 10).is_err_and(|e| e.is_not_found()));
    }

    #[test]
    fn the_limit_is_stated_and_exact() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("f");
        std::fs::write(&path, b"0123456789").expect("write");
        assert_eq!(read(&path, 10).expect("at the limit"), b"0123456789");
        let err = read(&path, 9).expect_err("over the limit");
        assert!(
            err.to_string()
                .ends_with("is 10 bytes, over the limit of 9 bytes for this file"),
            "{err}"
        );
    }

    #[test]
    fn invalid_utf8_is_located() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("f");
        std::fs::write(&path, b"a\nbc\xff").expect("write");
        let err = read_text(&path, 100).expect_err("not UTF-8");
        assert!(
            matches!(
                err,
                ReadError::NotText {
                    line: 2,
                    column: 3,
                    offset: 4,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn sized_reads_of_files_smaller_equal_and_larger_than_announced() {
        use std::io::Write as _;
        let dir = tempfile::tempdir().expect("tempdir");
        for size in [0usize, 1, 63, 64, 65, 4096, 100_000] {
            let path = dir.path().join(format!("f{size}"));
            let content: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            File::create(&path)
                .and_then(|mut f| f.write_all(&content))
                .expect("writing");
            for announced in [0u64, size as u64, (size / 2) as u64, size as u64 * 3] {
                let mut file = File::open(&path).expect("opening");
                assert_eq!(read_sized(&mut file, announced).expect("reading"), content);
            }
        }
    }

    #[test]
    fn read_existing_reads_files_and_refuses_links() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("f");
        std::fs::write(&file, b"x").expect("write");
        assert_eq!(read_existing(&file).expect("a file"), Some(b"x".to_vec()));
        assert_eq!(
            read_existing(&dir.path().join("absent")).expect("absent"),
            None
        );
        assert_eq!(
            read_existing(&file.join("under-a-file")).expect("absent"),
            None
        );
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&file, &link).expect("symlink");
        match read_existing(&link) {
            Err(ReadError::NotRegular { kind, .. }) => assert_eq!(kind, "a symlink"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            read_existing(dir.path()),
            Err(ReadError::NotRegular {
                kind: "a directory",
                ..
            })
        ));
    }
}
