//! A decoded input row's fields, as the decoders give them to the pipeline:
//! the cells of a CSV row in header order, or, for formats with nesting
//! (JSON, NDJSON, XML), one JSON object as text.

use std::borrow::Cow;
use std::sync::Arc;

/// The fields of one decoded row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowFields {
    /// A JSON object, as text (JSON, NDJSON and XML rows).
    Json(String),
    /// The cells of a CSV row, in the order of its header.
    Cells(CellRow),
}

impl RowFields {
    /// About the memory the row's fields take: their text, and a word a
    /// cell.
    pub fn size(&self) -> usize {
        match self {
            RowFields::Json(text) => text.len(),
            RowFields::Cells(cells) => cells.text.len() + 4 * cells.ends.len(),
        }
    }

    /// The row as one JSON object's text: as given, or written from the
    /// cells (a header name given twice keeps its last cell, as a JSON
    /// reader keeps the last of a key given twice).
    pub fn json(&self) -> Cow<'_, str> {
        match self {
            RowFields::Json(text) => Cow::Borrowed(text),
            RowFields::Cells(cells) => Cow::Owned(cells.to_json()),
        }
    }
}

/// A CSV row: its cells' text back to back, where each ends, and the
/// header (shared by every row of a file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellRow {
    header: Arc<[String]>,
    text: String,
    ends: CellEnds,
}

/// Where each cell of a row ends: held in the row itself up to sixteen
/// cells, so that most rows cost one allocation (their text), not two.
pub type CellEnds = smallvec::SmallVec<[u32; 16]>;

impl CellRow {
    /// A row of `text` cut at `ends` (one per header name, ascending, the
    /// last at most `text.len()`, each on a character boundary); `None`
    /// when they do not fit.
    pub fn new(header: Arc<[String]>, text: String, ends: impl Into<CellEnds>) -> Option<CellRow> {
        let ends = ends.into();
        let fits = ends.len() == header.len()
            && ends.windows(2).all(|w| w[0] <= w[1])
            && ends.last().is_none_or(|&e| e as usize <= text.len())
            && ends.iter().all(|&e| text.is_char_boundary(e as usize));
        fits.then_some(CellRow { header, text, ends })
    }

    /// The header, shared by every row of the file.
    pub fn header(&self) -> &Arc<[String]> {
        &self.header
    }

    /// The cells' text back to back.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The byte range of cell `i` (in header order) in [`CellRow::text`].
    pub fn span(&self, i: usize) -> Option<(u32, u32)> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        Some((start, end))
    }

    /// Each cell's byte range in [`CellRow::text`], in header order.
    pub fn spans(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts.zip(self.ends.iter().copied())
    }

    /// Each header name with its cell, in header order.
    pub fn cells(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.header
            .iter()
            .zip(self.spans())
            .map(|(name, (start, end))| (name.as_str(), &self.text[start as usize..end as usize]))
    }

    /// The row as a JSON object's text, members in header order.
    pub fn to_json(&self) -> String {
        let mut json = Vec::with_capacity(self.text.len() + 16 * self.header.len() + 2);
        json.push(b'{');
        for (i, (name, cell)) in self.cells().enumerate() {
            if i > 0 {
                json.push(b',');
            }
            serde_json::to_writer(&mut json, name).expect("writing to a Vec cannot fail");
            json.push(b':');
            serde_json::to_writer(&mut json, cell).expect("writing to a Vec cannot fail");
        }
        json.push(b'}');
        String::from_utf8(json).expect("JSON written from UTF-8 text is UTF-8")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(header: &[&str], cells: &[&str]) -> CellRow {
        let header: Arc<[String]> = header.iter().map(|h| h.to_string()).collect();
        let mut ends = Vec::new();
        let mut text = String::new();
        for cell in cells {
            text.push_str(cell);
            ends.push(text.len() as u32);
        }
        CellRow::new(header, text, ends).unwrap()
    }

    #[test]
    fn cells_come_back_by_name_and_as_json() {
        let r = row(&["名称", "qty", "note"], &["零件\"1\"", "", "a,b"]);
        let cells: Vec<_> = r.cells().collect();
        assert_eq!(cells, [("名称", "零件\"1\""), ("qty", ""), ("note", "a,b")]);
        assert_eq!(r.to_json(), r#"{"名称":"零件\"1\"","qty":"","note":"a,b"}"#);
        let parsed: serde_json::Value = serde_json::from_str(&RowFields::Cells(r).json()).unwrap();
        assert_eq!(parsed["qty"], "");
    }

    #[test]
    fn ends_that_do_not_fit_are_refused() {
        let header: Arc<[String]> = ["a".to_string(), "b".to_string()].into();
        assert!(CellRow::new(header.clone(), "ab".into(), vec![1]).is_none());
        assert!(CellRow::new(header.clone(), "ab".into(), vec![2, 1]).is_none());
        assert!(CellRow::new(header.clone(), "ab".into(), vec![1, 3]).is_none());
        assert!(CellRow::new(header, "é".into(), vec![1, 2]).is_none());
    }
}
