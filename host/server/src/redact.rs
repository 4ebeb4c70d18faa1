//! Keeping the server's own paths out of what clients read.
//!
//! Messages of lower layers name files by their paths (the plugin folder,
//! a pack's staging folder), which tell an attacker how the server is laid
//! out. Every message the API sends passes through [`redact`], which
//! replaces the data directory — as configured and as resolved — with
//! `<data>` (and plugin or pack folders configured outside it with
//! `<plugins>`, `<packs>`).

use std::path::Path;
use std::sync::OnceLock;

static HIDDEN: OnceLock<Vec<(String, &'static str)>> = OnceLock::new();

/// Registers the folders whose paths are hidden from clients: the data
/// directory (shown as `<data>`), and the plugin and pack folders when they
/// are configured elsewhere (`<plugins>`, `<packs>`). Only absolute forms
/// are replaced, so that words of a message are never taken for a path.
/// The first call wins (one server per process).
pub fn hide_folders(folders: &[(&Path, &'static str)]) {
    let mut forms = Vec::new();
    for (folder, shown) in folders {
        let absolute = if folder.is_absolute() {
            folder.to_path_buf()
        } else {
            std::env::current_dir()
                .map(|d| d.join(folder))
                .unwrap_or_default()
        };
        forms.push((absolute.display().to_string(), *shown));
        if let Ok(resolved) = folder.canonicalize() {
            forms.push((resolved.display().to_string(), *shown));
        }
    }
    // Longest first, so that a resolved form is not half-replaced.
    forms.sort_by_key(|(f, _)| std::cmp::Reverse(f.len()));
    forms.retain(|(f, _)| f.starts_with('/') && f.len() > 1);
    forms.dedup();
    let _ = HIDDEN.set(forms);
}

/// `text` with the hidden folders' paths replaced by their names.
pub fn redact(text: &str) -> String {
    let mut out = text.to_string();
    for (form, shown) in HIDDEN.get().map(Vec::as_slice).unwrap_or_default() {
        if out.contains(form.as_str()) {
            out = out.replace(form.as_str(), shown);
        }
    }
    out
}
