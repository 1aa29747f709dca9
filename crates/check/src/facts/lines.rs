//! Line starts of a text, shared by the readers to turn lines into byte offsets.

/// Line starts of a text, to turn (line, column) into byte offsets.
pub(crate) struct LineIndex {
    pub(crate) starts: Vec<usize>,
}

impl LineIndex {
    pub(crate) fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|&(_, b)| b == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineIndex { starts }
    }

    /// Byte range of the 1-based `line`, without its newline.
    pub(crate) fn line(&self, text: &str, line: usize) -> (usize, usize) {
        let idx = line.saturating_sub(1).min(self.starts.len() - 1);
        let start = self.starts[idx].min(text.len());
        let end = text[start..].find('\n').map_or(text.len(), |n| start + n);
        (start, end)
    }

    /// Byte offset of 1-based `line`, 0-based character `col`.
    pub(crate) fn offset(&self, text: &str, line: usize, col: usize) -> usize {
        let (start, end) = self.line(text, line);
        text[start..end]
            .char_indices()
            .nth(col)
            .map_or(end, |(i, _)| start + i)
    }

    /// The line without its leading and trailing whitespace.
    pub(crate) fn trimmed_line(&self, text: &str, line: usize) -> (usize, usize) {
        let (start, end) = self.line(text, line);
        let s = &text[start..end];
        let lead = s.len() - s.trim_start().len();
        let trail = s.len() - s.trim_end().len();
        if lead + trail >= s.len() {
            (start, start)
        } else {
            (start + lead, end - trail)
        }
    }
}
