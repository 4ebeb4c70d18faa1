//! What the host serves a plugin: the pack's standard services, a log, and
//! the store's resource limits.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

use conform_pack::Standard;

pub(crate) mod mapping;
pub(crate) mod v0_1;
pub(crate) mod v0_2;

/// Longest log message kept from a plugin; the rest is cut.
const MAX_LOG_BYTES: usize = conform_model::MAX_MESSAGE_BYTES;

/// Log messages a plugin may write per batch, retries included; the rest
/// are counted and reported in one line when the batch ends.
pub const MAX_LOG_LINES_PER_BATCH: u32 = 20;

/// A call the contract does not allow (a handle the host does not hold,
/// arguments that do not fit together): the plugin broke the contract,
/// and its rows are rejected `plugin-output` with this reason.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Breach(pub(crate) &'static str);

/// Per-store state: the standard services and the limits.
pub(crate) struct HostState {
    pub(crate) plugin: Arc<str>,
    pub(crate) standard: Arc<Standard>,
    pub(crate) limiter: Limiter,
    pub(crate) log: Arc<LogBudget>,
    /// Contract 0.2.0's open handles.
    pub(crate) resources: wasmtime::component::ResourceTable,
    /// How many handles are open (at most [`v0_2::MAX_HANDLES`]).
    pub(crate) handles: u32,
    /// The mapping program the interpreter runs (JSON), if this is one.
    pub(crate) program: Option<Arc<str>>,
}

/// A worker's log budget for the batch it converts, shared by the stores
/// the batch runs in (a batch retried row by row runs in several).
#[derive(Debug, Default)]
pub(crate) struct LogBudget {
    written: AtomicU32,
    dropped: AtomicU64,
}

impl LogBudget {
    /// A batch begins: the budget is full again.
    pub(crate) fn start_batch(&self) {
        self.written.store(0, Ordering::Relaxed);
        self.dropped.store(0, Ordering::Relaxed);
    }

    /// A batch ended: says how many messages were dropped, if any.
    pub(crate) fn end_batch(&self, plugin: &str) {
        let dropped = self.dropped.swap(0, Ordering::Relaxed);
        if dropped > 0 {
            tracing::warn!(
                plugin,
                dropped,
                "plugin log messages dropped: more than {MAX_LOG_LINES_PER_BATCH} in one batch"
            );
        }
    }

    /// Whether one more message may be written now.
    fn admit(&self) -> bool {
        if self.written.fetch_add(1, Ordering::Relaxed) < MAX_LOG_LINES_PER_BATCH {
            true
        } else {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            false
        }
    }
}

/// A plugin's message made safe for one log line: cut to [`MAX_LOG_BYTES`],
/// newlines and other control characters escaped (`\n`, `\u{1b}`), so that
/// a plugin can neither forge log lines nor send terminal escapes.
pub(crate) fn escape_log(message: &str) -> String {
    let message = conform_model::truncate(message, MAX_LOG_BYTES);
    let mut out = String::with_capacity(message.len() + 8);
    for c in message.chars() {
        // Control characters, line and paragraph separators, bidirectional
        // overrides and invisible characters.
        let invisible = matches!(c, '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}');
        if c.is_control() || invisible {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Memory and table limits of one store. Records whether a limit was hit so
/// that the trap that follows can be reported as `plugin-memory`.
pub(crate) struct Limiter {
    pub(crate) max_memory_bytes: usize,
    pub(crate) hit: bool,
}

impl wasmtime::ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_memory_bytes {
            self.hit = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > 100_000 {
            self.hit = true;
            return Ok(false);
        }
        Ok(true)
    }

    // A component made by componentize-py (CPython and its libraries,
    // linked) instantiates some twenty core modules and their tables.
    fn instances(&self) -> usize {
        64
    }

    fn tables(&self) -> usize {
        64
    }

    fn memories(&self) -> usize {
        4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_messages_cannot_forge_lines_or_send_escapes() {
        assert_eq!(
            escape_log("ok\nINFO forged line\r\u{1b}[31mred"),
            "ok\\nINFO forged line\\r\\u{1b}[31mred"
        );
        let long = "x".repeat(5000);
        assert!(escape_log(&long).len() <= MAX_LOG_BYTES + '…'.len_utf8());
    }

    #[test]
    fn a_batch_logs_a_bounded_number_of_lines() {
        let budget = LogBudget::default();
        budget.start_batch();
        let admitted = (0..1000).filter(|_| budget.admit()).count();
        assert_eq!(admitted, MAX_LOG_LINES_PER_BATCH as usize);
        assert_eq!(
            budget.dropped.load(Ordering::Relaxed),
            1000 - u64::from(MAX_LOG_LINES_PER_BATCH)
        );
        budget.start_batch();
        assert!(budget.admit());
    }

    #[test]
    fn invisible_and_bidirectional_characters_are_escaped() {
        let escaped = escape_log("a\u{202e}b\u{2066}c\u{200b}d\u{feff}");
        assert!(escaped.is_ascii(), "{escaped}");
    }
}
