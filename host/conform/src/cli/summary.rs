//! The summary printed at the end of a conversion.

use conform_model::Summary;

/// The summary as a table for people.
pub fn table(summary: &Summary) -> String {
    let mut out = format!(
        "{:<32} {:<22} {:>9} {:>9} {:>9}\n",
        "file", "plugin", "rows in", "converted", "rejected"
    );
    for f in &summary.files {
        out += &format!(
            "{:<32} {:<22} {:>9} {:>9} {:>9}\n",
            f.file, f.plugin, f.rows_in, f.converted, f.rejected
        );
        if let Some(error) = &f.error {
            out += &format!("  stopped early: {error}\n");
        }
    }
    for f in &summary.failed {
        out += &format!("{:<32} not converted: {}\n", f.file, f.message);
    }
    for f in &summary.skipped {
        out += &format!("{:<32} skipped: {}\n", f.file, f.message);
    }
    out += &format!(
        "{:<32} {:<22} {:>9} {:>9} {:>9}\n",
        "total", "", summary.rows_in, summary.converted, summary.rejected
    );
    out
}
