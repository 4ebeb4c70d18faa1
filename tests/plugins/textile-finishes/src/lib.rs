//! A test plugin for a table that a later version of a pack adds: the
//! `finishes` code list of sample-textile 1.1.0 (built by the publish test,
//! not shipped). It needs no more of the host than any other plugin.

use conform_plugin_sdk::tables::CodeList;
use conform_plugin_sdk::{
    export_plugin, Checks, Cx, Plugin, Record, Records, Rejected, ResultExt, Row,
};

/// Finishes of fabric rolls.
pub struct TextileFinishes;

const FINISHES: CodeList = CodeList::named("finishes");

impl Plugin for TextileFinishes {
    fn convert(row: &Row<'_>, cx: &mut Cx) -> Result<Records, Rejected> {
        let mut checks = Checks::default();
        let roll = checks.take(row.text("roll"));
        let finish = checks.take(
            row.text("finish")
                .and_then(|t| FINISHES.code(cx, t))
                .at("finish")
                .target("/finish"),
        );
        checks.finish()?;
        let mut note = Record::new("finish_note");
        note.text("roll_id", roll.unwrap_or_default())
            .text("finish", finish.as_deref().unwrap_or_default());
        Ok(Records::one(note))
    }
}

export_plugin!(TextileFinishes);
