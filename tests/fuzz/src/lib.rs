//! What each fuzz target checks, shared with the regression test
//! (`tests/fuzz_regressions.rs` includes this file), so a crash found by
//! the fuzzer replays exactly in `cargo test`.
//!
//! Decoders: whatever the bytes, decoding ends, never panics, and numbers
//! rows in order (ordinals strictly increasing, lines never decreasing).
//! Manifests: whatever the text, parsing never panics, and a manifest that
//! parses survives a round trip through TOML unchanged.

use conform_decode::{decode, DecodeLimits, Decoded};
use conform_model::plugin::{CsvOptions, InputFormat, TextEncoding, XmlOptions};
use conform_model::{PackManifest, PluginManifest};

/// Small limits, so the fuzzer explores the limits' edges too.
const LIMITS: DecodeLimits = DecodeLimits {
    max_record_bytes: 4096,
    max_depth: 16,
};

/// The first byte picks the encoding; the rest is the file.
fn split(data: &[u8]) -> (TextEncoding, Vec<u8>) {
    match data.split_first() {
        Some((b, rest)) => {
            let encoding = match b % 3 {
                0 => TextEncoding::Utf8,
                1 => TextEncoding::Gb18030,
                _ => TextEncoding::Gbk,
            };
            (encoding, rest.to_vec())
        }
        None => (TextEncoding::Utf8, Vec::new()),
    }
}

fn drain(data: &[u8], format: &InputFormat) {
    let (encoding, bytes) = split(data);
    let rows = decode(std::io::Cursor::new(bytes), format, encoding, LIMITS);
    let (mut ordinal, mut line) = (0u64, 0u64);
    for row in rows {
        let Ok(row) = row else { break };
        let (o, l) = match &row {
            Decoded::Record(r) => (r.ordinal, r.line),
            Decoded::Rejected(e) => (e.ordinal, e.line),
        };
        assert!(o > ordinal, "ordinal {o} after {ordinal}");
        assert!(l >= line, "line {l} after {line}");
        if let Decoded::Record(r) = &row {
            assert!(
                r.fields.json().len() <= 4 * LIMITS.max_record_bytes + 1024,
                "a record over the limit"
            );
        }
        (ordinal, line) = (o, l);
    }
}

/// CSV with the default options.
pub fn csv(data: &[u8]) {
    drain(data, &InputFormat::Csv(CsvOptions::default()));
}

/// XML with records at `Root/Item`.
pub fn xml(data: &[u8]) {
    drain(
        data,
        &InputFormat::Xml(XmlOptions {
            record_path: "Root/Item".into(),
        }),
    );
}

/// A JSON array of records.
pub fn json(data: &[u8]) {
    drain(data, &InputFormat::Json);
}

/// NDJSON.
pub fn ndjson(data: &[u8]) {
    drain(data, &InputFormat::Ndjson);
}

/// Parses `data` as a manifest; one that parses must survive a round trip
/// through TOML unchanged.
fn round_trip<T, E>(data: &[u8], parse: fn(&str) -> Result<T, E>)
where
    T: serde::Serialize + PartialEq + std::fmt::Debug,
    E: std::fmt::Debug,
{
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(manifest) = parse(text) {
        let again = toml::to_string(&manifest).expect("a parsed manifest serializes");
        let back = parse(&again).expect("a serialized manifest parses");
        assert_eq!(manifest, back);
    }
}

/// A plugin manifest.
pub fn plugin_manifest(data: &[u8]) {
    round_trip(data, PluginManifest::from_toml);
}

/// A pack manifest.
pub fn pack_manifest(data: &[u8]) {
    round_trip(data, PackManifest::from_toml);
}
