//! The batch a plugin receives, indexed once: columns by path, and which
//! paths hold a list or an object (their members are columns of their own).

use rustc_hash::FxHashMap as HashMap;

use crate::bindings::conform::plugin::types as wit;
use crate::row::Row;

/// A step of a path, hashable.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Key {
    Name(String),
    Index(u32),
}

/// What a path that is not a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Container {
    List,
    Object,
}

/// A batch with its columns indexed.
pub(crate) struct Batch {
    pub(crate) inner: wit::Batch,
    columns: HashMap<Vec<Key>, u32>,
    /// The columns of top-level members, by name: what `row.text("列")`
    /// asks, found without building a path.
    top: HashMap<Box<str>, u32>,
    containers: HashMap<Vec<Key>, Container>,
}

impl Batch {
    pub(crate) fn new(inner: wit::Batch) -> Batch {
        let mut columns = HashMap::default();
        let mut top = HashMap::default();
        let mut containers = HashMap::default();
        for (index, column) in inner.columns.iter().enumerate() {
            let path: Vec<Key> = column
                .iter()
                .map(|step| match step {
                    wit::Step::Key(name) => Key::Name(name.clone()),
                    wit::Step::Index(i) => Key::Index(*i),
                })
                .collect();
            for depth in 1..path.len() {
                let kind = match path[depth] {
                    Key::Index(_) => Container::List,
                    Key::Name(_) => Container::Object,
                };
                containers.entry(path[..depth].to_vec()).or_insert(kind);
            }
            if let [wit::Step::Key(name)] = column.as_slice() {
                top.insert(name.as_str().into(), index as u32);
            }
            columns.insert(path, index as u32);
        }
        Batch {
            inner,
            columns,
            top,
            containers,
        }
    }

    pub(crate) fn rows(&self) -> usize {
        self.inner.rows.len()
    }

    pub(crate) fn row(&self, index: usize) -> Row<'_> {
        Row::new(self, &self.inner.rows[index])
    }

    pub(crate) fn column(&self, path: &[Key]) -> Option<u32> {
        self.columns.get(path).copied()
    }

    /// The column of the top-level member `name`, if any row has it.
    pub(crate) fn top_column(&self, name: &str) -> Option<u32> {
        self.top.get(name).copied()
    }

    pub(crate) fn container(&self, path: &[Key]) -> Option<Container> {
        self.containers.get(path).copied()
    }

    pub(crate) fn text(&self, span: wit::Span) -> &str {
        let start = span.start as usize;
        &self.inner.text[start..start + span.len as usize]
    }
}
