//! Line numbers in a text file as a text editor counts them: every `\n` ends a line, so CRLF
//! endings, blank lines, `#` comment lines and a byte-order mark shift nothing. The CSV
//! imports (`commands::input::csv`) and the ESG provider file (`simulations::esg`) number the
//! records they refuse with it.

/// Where each line of a text ends, to number records by their first byte.
pub struct LineIndex<'b> {
    bytes: &'b [u8],
    newlines: Vec<usize>,
}

impl<'b> LineIndex<'b> {
    pub fn of(bytes: &'b [u8]) -> Self {
        Self { bytes, newlines: bytes.iter().enumerate().filter(|(_, b)| **b == b'\n').map(|(i, _)| i).collect() }
    }

    /// The 1-based line of the first text at or after `offset`: a CSV reader places a record
    /// where the previous one ended, before the blank and comment lines it skipped.
    pub fn at(&self, offset: u64) -> u64 {
        let mut at = usize::try_from(offset).unwrap_or(usize::MAX).min(self.bytes.len());
        loop {
            let rest = &self.bytes[at..];
            let skip = if rest.starts_with(b"\r\n") {
                2
            } else if rest.starts_with(b"\n") || rest.starts_with(b"\r") {
                1
            } else if rest.starts_with(b"#") {
                rest.iter().position(|b| *b == b'\n').map_or(rest.len(), |i| i + 1)
            } else {
                0
            };
            if skip == 0 {
                break;
            }
            at += skip;
        }
        self.newlines.partition_point(|&i| i < at) as u64 + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_skip_blank_and_comment_lines_to_the_next_text() {
        let text = b"a,b\r\n\n# note\nc,d\n";
        let lines = LineIndex::of(text);
        assert_eq!(lines.at(0), 1);
        // The reader stops after the first record's CRLF: the next text is on line 4.
        assert_eq!(lines.at(5), 4);
        assert_eq!(lines.at(1_000), 5);
    }
}
