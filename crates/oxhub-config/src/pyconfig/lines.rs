//! Byte offsets → 1-based line and character column.

use crate::error::Location;

pub struct LineIndex {
    /// Byte offset where each line starts.
    starts: Vec<usize>,
    source: String,
}

impl LineIndex {
    pub fn new(source: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(source.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex {
            starts,
            source: source.to_owned(),
        }
    }

    pub fn location(&self, file: &str, offset: usize) -> Location {
        let offset = offset.min(self.source.len());
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let start = self.starts[line - 1];
        let col = self
            .source
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count())
            + 1;
        Location {
            file: file.into(),
            line: u32::try_from(line).unwrap_or(u32::MAX),
            col: u32::try_from(col).unwrap_or(u32::MAX),
        }
    }
}

/// The offset of the first bracket nested deeper than `limit`, if any.
pub fn too_deep(source: &str, limit: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, b) in source.bytes().enumerate() {
        match b {
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return Some(i);
                }
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_one_based_characters() {
        let idx = LineIndex::new("a = 1\nb = 'é' + x\n");
        let loc = idx.location("f.py", 6);
        assert_eq!((loc.line, loc.col), (2, 1));
        let x = "a = 1\nb = 'é' + x\n".find('x').unwrap_or(0);
        assert_eq!(idx.location("f.py", x).col, 11);
    }

    #[test]
    fn depth_limit() {
        assert_eq!(too_deep("((()))", 3), None);
        assert_eq!(too_deep("(((())))", 3), Some(3));
    }
}
