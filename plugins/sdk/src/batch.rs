//! The batch a plugin receives, indexed once: columns by path, and which
//! paths hold a list or an object (their members are columns of their own).

use std::cell::Cell;

use rustc_hash::FxHashMap as HashMap;

use crate::bindings::conform::plugin::types as wit;
use crate::row::Row;
use crate::text::same;

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
    /// Each column's name when it is a top-level member (a copy, read
    /// without walking the column's path).
    top_names: Vec<Option<Box<str>>>,
    /// The top-level column asked last (`columns.len()` before any).
    last: Cell<u32>,
    /// For each top-level column, the one asked after it last time (and,
    /// at `columns.len()`, the first asked): a plugin asks for its columns
    /// in the same order row after row, so the guess is checked before any
    /// hashing.
    follows: Vec<Cell<u32>>,
    containers: HashMap<Vec<Key>, Container>,
}

/// No column guessed yet.
const NO_GUESS: u32 = u32::MAX;

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
        let count = inner.columns.len();
        let top_names = inner
            .columns
            .iter()
            .map(|column| match column.as_slice() {
                [wit::Step::Key(name)] => Some(name.as_str().into()),
                _ => None,
            })
            .collect();
        Batch {
            inner,
            columns,
            top,
            top_names,
            last: Cell::new(count as u32),
            follows: (0..=count).map(|_| Cell::new(NO_GUESS)).collect(),
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
    #[inline]
    pub(crate) fn top_column(&self, name: &str) -> Option<u32> {
        let follows = &self.follows[self.last.get() as usize];
        let guess = follows.get();
        let found = if self.top_name(guess).is_some_and(|n| same(n, name)) {
            guess
        } else {
            let found = self.top.get(name).copied()?;
            follows.set(found);
            found
        };
        self.last.set(found);
        Some(found)
    }

    /// The name of `column` when it is a top-level member.
    #[inline]
    fn top_name(&self, column: u32) -> Option<&str> {
        self.top_names.get(column as usize)?.as_deref()
    }

    pub(crate) fn container(&self, path: &[Key]) -> Option<Container> {
        self.containers.get(path).copied()
    }

    /// Bytes `[start, start + len)` of the batch's text.
    #[inline]
    pub(crate) fn text_at(&self, start: u32, len: u32) -> &str {
        let start = start as usize;
        &self.inner.text[start..start + len as usize]
    }
}
