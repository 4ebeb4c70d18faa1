//! Keeping the server's own paths out of what clients read.
//!
//! Messages of lower layers name files by their paths (the plugin folder,
//! a pack's staging folder), which tell an attacker how the server is laid
//! out. Every message the API sends passes through [`redact`], which
//! replaces the data directory — as configured and as resolved — with
//! `<data>`.

use std::path::Path;
use std::sync::OnceLock;

static DATA_DIRS: OnceLock<Vec<String>> = OnceLock::new();

/// Registers the data directory whose paths are hidden from clients. The
/// first call wins (one server per process).
pub fn hide_data_dir(data_dir: &Path) {
    let mut forms = vec![data_dir.display().to_string()];
    if let Ok(resolved) = data_dir.canonicalize() {
        forms.push(resolved.display().to_string());
    }
    if let Ok(cwd) = std::env::current_dir() {
        forms.push(cwd.join(data_dir).display().to_string());
    }
    // Longest first, so that a resolved form is not half-replaced.
    forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
    forms.retain(|f| f.len() > 1);
    forms.dedup();
    let _ = DATA_DIRS.set(forms);
}

/// `text` with the data directory's paths replaced by `<data>`.
pub fn redact(text: &str) -> String {
    let mut out = text.to_string();
    for form in DATA_DIRS.get().map(Vec::as_slice).unwrap_or_default() {
        if out.contains(form.as_str()) {
            out = out.replace(form.as_str(), "<data>");
        }
    }
    out
}
