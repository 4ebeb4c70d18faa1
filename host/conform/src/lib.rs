//! Conform: converts enterprises' exports into validated records of a
//! unified standard, through sandboxed plugins.
//!
//! The library behind the `conform` binary. [`registry`] finds plugins and
//! loads them into the sandbox; [`pipeline`] streams one input through
//! decode → plugin → validation into [`sink`]s, accounting for every row;
//! [`packs`] keeps pack versions side by side;
//! [`server`] serves the same over HTTP.

pub mod packs;
pub mod pipeline;
pub mod registry;
pub mod server;
pub mod sink;

pub use pipeline::{convert, ConvertOptions, PipelineError};
pub use registry::{Registry, RegistryError};
