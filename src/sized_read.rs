//! Reading a file whose size is already known.
//!
//! `File::read_to_end` asks the kernel for the size again (`fstat`, then `lseek`
//! for the position) before reading. The callers here have just `lstat`ed or
//! `fstat`ed the file, and read tens of thousands of files per run for a large
//! network: two system calls per file saved is measurable.
use std::fs::File;
use std::io::Read as _;

/// Reads all of `file`, expected to hold `len` bytes (it may have changed since:
/// the result is whatever it holds now). Usually two `read` calls: the content,
/// then the end of file.
pub fn read_all(file: &mut File, len: u64) -> std::io::Result<Vec<u8>> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    #[test]
    fn reads_files_smaller_equal_and_larger_than_announced() {
        let dir = tempfile::tempdir().expect("tempdir");
        for size in [0usize, 1, 63, 64, 65, 4096, 100_000] {
            let path = dir.path().join(format!("f{size}"));
            let content: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            std::fs::File::create(&path)
                .and_then(|mut f| f.write_all(&content))
                .expect("writing");
            for announced in [0u64, size as u64, (size / 2) as u64, size as u64 * 3] {
                let mut file = File::open(&path).expect("opening");
                assert_eq!(read_all(&mut file, announced).expect("reading"), content);
            }
        }
    }
}
