//! A pack's tables: the generic kinds ([`code_list`], …) and their
//! building blocks: how terms are matched ([`matching`]) and how a table's
//! refusals are worded ([`template`], and `wording`, the kind's defaults
//! and the pack's own). Each kind is built from them, so that no kind
//! matches or words a message in a way of its own.

pub mod class_set;
pub mod code_list;
pub(crate) mod integer_ratio;
pub(crate) mod load;
pub mod matching;
pub mod scheme;
pub(crate) mod scopes;
pub mod template;
pub mod term_levels;
pub mod thresholds;
pub mod time_format;
pub mod units;
pub(crate) mod wording;

use std::collections::BTreeMap;
use std::sync::Arc;

use conform_model::pack::TableKind;

use class_set::ClassSet;
use code_list::CodeList;
use scheme::Scheme;
use term_levels::TermLevels;
use thresholds::Thresholds;
use time_format::TimeFormat;
use units::Units;

/// A refusal of one of several inputs of a call (a scheme's parts, a list
/// of classes), saying which.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputRefused {
    /// The index of the input at fault, when one is (none when the inputs
    /// as a whole are refused, as an empty list).
    pub input: Option<usize>,
    /// The refusal.
    pub error: crate::ServiceError,
}

/// A checked table of one of the kinds, shared: a clone is cheap, so an
/// open handle of a plugin holds its table.
#[derive(Debug, Clone)]
pub enum Table {
    /// Terms → codes.
    CodeList(Arc<CodeList>),
    /// Ordered classes.
    ClassSet(Arc<ClassSet>),
    /// A quantity classified by bounds.
    Thresholds(Arc<Thresholds>),
    /// Classifications combined.
    Scheme(Arc<Scheme>),
    /// Units and canonical units.
    Units(Arc<Units>),
    /// Terms → amounts → levels.
    TermLevels(Arc<TermLevels>),
    /// The time format.
    TimeFormat(Arc<TimeFormat>),
}

impl Table {
    /// The codes with which the table refuses a scope it does not know
    /// (a scheme: its code-list parts'), so that a caller can blame the
    /// scope's input rather than the term's.
    pub fn scope_refusals(&self) -> Vec<&str> {
        match self {
            Table::CodeList(list) => vec![list.scope_refusal()],
            Table::TermLevels(levels) => vec![levels.scope_refusal()],
            Table::Scheme(scheme) => scheme
                .parts()
                .iter()
                .filter_map(|part| match part {
                    scheme::Part::Codes(list) => Some(list.scope_refusal()),
                    scheme::Part::Bounds(_) => None,
                })
                .collect(),
            Table::ClassSet(_) | Table::Thresholds(_) | Table::Units(_) | Table::TimeFormat(_) => {
                Vec::new()
            }
        }
    }

    /// The table's kind.
    pub fn kind(&self) -> TableKind {
        match self {
            Table::CodeList(_) => TableKind::CodeList,
            Table::ClassSet(_) => TableKind::ClassSet,
            Table::Thresholds(_) => TableKind::Thresholds,
            Table::Scheme(_) => TableKind::Scheme,
            Table::Units(_) => TableKind::UnitCatalogue,
            Table::TermLevels(_) => TableKind::TermLevels,
            Table::TimeFormat(_) => TableKind::TimeFormat,
        }
    }
}

macro_rules! table_from_kind {
    ($($variant:ident($type:ty)),* $(,)?) => {
        $(
            impl From<$type> for Table {
                fn from(table: $type) -> Table {
                    Table::$variant(Arc::new(table))
                }
            }
        )*
    };
}

table_from_kind! {
    CodeList(CodeList),
    ClassSet(ClassSet),
    Thresholds(Thresholds),
    Scheme(Scheme),
    Units(Units),
    TermLevels(TermLevels),
    TimeFormat(TimeFormat),
}

/// A pack's tables by name: what its services answer from.
#[derive(Debug, Clone, Default)]
pub struct Tables {
    by_name: BTreeMap<String, Table>,
}

/// `Tables::<kind>(name)`: the table of that name if it is of that kind.
macro_rules! table_of_kind {
    ($($method:ident => $variant:ident($type:ty)),* $(,)?) => {
        impl Tables {
            $(
                #[doc = concat!("The table `name`, if it is a `", stringify!($type), "`.")]
                pub fn $method(&self, name: &str) -> Option<&$type> {
                    match self.by_name.get(name)? {
                        Table::$variant(table) => Some(table.as_ref()),
                        _ => None,
                    }
                }
            )*
        }
    };
}

table_of_kind! {
    code_list => CodeList(CodeList),
    class_set => ClassSet(ClassSet),
    thresholds => Thresholds(Thresholds),
    scheme => Scheme(Scheme),
    units => Units(Units),
    term_levels => TermLevels(TermLevels),
    time_format => TimeFormat(TimeFormat),
}

impl Tables {
    /// The table `name`, of whatever kind.
    pub fn get(&self, name: &str) -> Option<&Table> {
        self.by_name.get(name)
    }

    /// Every table, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Table)> {
        self.by_name
            .iter()
            .map(|(name, table)| (name.as_str(), table))
    }

    /// Adds a checked table.
    pub(crate) fn insert(&mut self, name: impl Into<String>, table: Table) {
        self.by_name.insert(name.into(), table);
    }
}
