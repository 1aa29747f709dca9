use std::path::{Path, PathBuf};

/// Index of a file in a [`SourceMap`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(pub u32);

/// A byte range in one file of a [`SourceMap`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Span {
    /// The file.
    pub file: FileId,
    /// Byte offset of the first byte.
    pub start: u32,
    /// Byte offset one past the last byte.
    pub end: u32,
}

struct SourceFile {
    path: PathBuf,
    text: String,
    line_starts: Vec<u32>,
}

/// The texts diagnostics point into, each under the path it was read from.
///
/// Renderers show [`SourceMap::display_path`]: the path relative to the root set
/// with [`SourceMap::set_root`] (the repository) when the file is inside it, so
/// users see `nix/network.nix:12:5` whatever directory they ran the tool from.
#[derive(Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
    root: Option<PathBuf>,
}

impl std::fmt::Debug for SourceMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.files.iter().map(|s| &s.path))
            .finish()
    }
}

impl SourceMap {
    /// Adds a file's text; returns its id. Adding the same path twice adds it twice.
    pub fn add(&mut self, path: impl Into<PathBuf>, text: impl Into<String>) -> FileId {
        let text = text.into();
        let mut line_starts = vec![0u32];
        line_starts.extend(
            text.bytes()
                .enumerate()
                .filter(|&(_, b)| b == b'\n')
                .map(|(i, _)| (i + 1) as u32),
        );
        self.files.push(SourceFile {
            path: path.into(),
            text,
            line_starts,
        });
        FileId((self.files.len() - 1) as u32)
    }

    /// The id of a file already added under `path`, if any.
    pub fn find(&self, path: &Path) -> Option<FileId> {
        self.files
            .iter()
            .position(|f| f.path == path)
            .map(|i| FileId(i as u32))
    }

    /// A span of `file` from byte `start` to byte `end`.
    pub fn span(&self, file: FileId, start: usize, end: usize) -> Span {
        Span {
            file,
            start: start as u32,
            end: end as u32,
        }
    }

    /// The span of the whole 1-based `line` of `file` (without its newline).
    pub fn line_span(&self, file: FileId, line: usize) -> Span {
        let f = &self.files[file.0 as usize];
        let idx = line.saturating_sub(1).min(f.line_starts.len() - 1);
        let start = f.line_starts[idx] as usize;
        let end = f.text[start..]
            .find('\n')
            .map_or(f.text.len(), |n| start + n);
        self.span(file, start, end)
    }

    /// The path of a file as it was added (what readers open and resolve imports from).
    pub fn path(&self, file: FileId) -> &Path {
        &self.files[file.0 as usize].path
    }

    /// Shows paths under `root` (the repository) relative to it in diagnostics.
    pub fn set_root(&mut self, root: impl Into<PathBuf>) {
        self.root = Some(root.into());
    }

    /// The root set by [`SourceMap::set_root`], if any.
    pub fn root(&self) -> Option<&Path> {
        self.root.as_deref()
    }

    /// The path of a file as shown to the user: relative to the root when it is
    /// inside it, without a leading `./`, with `/` separators.
    pub fn display_path(&self, file: FileId) -> String {
        let path = self.path(file);
        let path = self
            .root
            .as_deref()
            .and_then(|r| path.strip_prefix(r).ok())
            .unwrap_or(path);
        let path = path.strip_prefix(".").unwrap_or(path);
        path.to_string_lossy().replace('\\', "/")
    }

    /// The text of a file.
    pub fn text(&self, file: FileId) -> &str {
        &self.files[file.0 as usize].text
    }

    /// 1-based line and column (in characters) of the start of `span`.
    pub fn line_col(&self, span: Span) -> (usize, usize) {
        self.offset_line_col(span.file, span.start as usize)
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn offset_line_col(&self, file: FileId, offset: usize) -> (usize, usize) {
        let f = &self.files[file.0 as usize];
        let offset = offset.min(f.text.len());
        let line = f.line_starts.partition_point(|&s| s as usize <= offset) - 1;
        let start = f.line_starts[line] as usize;
        let col = f
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        (line + 1, col + 1)
    }

    /// The text of the 1-based line `line` of `file`, without its newline.
    pub fn line_text(&self, file: FileId, line: usize) -> &str {
        let span = self.line_span(file, line);
        &self.files[file.0 as usize].text[span.start as usize..span.end as usize]
    }
}
