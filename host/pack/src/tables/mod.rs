//! The building blocks of a pack's tables: how terms are matched
//! ([`matching`]) and how a table's refusals are worded ([`template`]).
//! Each table kind is built from them, so that no kind matches or words a
//! message in a way of its own.

pub mod matching;
pub mod template;
