//! A pack's tables: the generic kinds ([`code_list`], …) and their
//! building blocks: how terms are matched ([`matching`]) and how a table's
//! refusals are worded ([`template`], and `wording`, the kind's defaults
//! and the pack's own). Each kind is built from them, so that no kind
//! matches or words a message in a way of its own.

pub mod class_set;
pub mod code_list;
pub mod matching;
pub mod scheme;
pub(crate) mod scopes;
pub mod template;
pub mod term_levels;
pub mod thresholds;
pub mod time_format;
pub mod units;
pub(crate) mod wording;
