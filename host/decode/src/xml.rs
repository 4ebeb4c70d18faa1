//! XML: one record per element at a configured path (`PartCatalog/Part`).
//!
//! The record element becomes a JSON object: attributes as `@name`, child
//! elements by name (repeated ones as arrays), text as a string, or as
//! `#text` beside attributes or children. The attributes of its ancestors
//! reach the plugin under `$context`, keyed by ancestor name (a catalogue's
//! supplier code, say). Predefined and character entities are resolved;
//! entities declared in a DTD are never expanded and external entities never
//! fetched: a record that uses one is rejected.

use std::io::{BufReader, Read};

use conform_model::{codes, RowFields};
use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::Reader;
use serde_json::{Map, Value};

use crate::lines::{LineIndex, RecordTooLarge};
use crate::{has_replacement, DecodeError, DecodeLimits, Decoded, RawRecord, RowError};

type Source = BufReader<LineIndex<Box<dyn Read + Send>>>;

pub(crate) struct XmlRows {
    reader: Reader<Source>,
    record_path: Vec<String>,
    /// Open elements from the root: name and attributes.
    open: Vec<(String, Map<String, Value>)>,
    buf: Vec<u8>,
    ordinal: u64,
    limits: DecodeLimits,
    flag_replacement: bool,
    done: bool,
}

/// Why a record element could not be read.
enum RecordError {
    Xml(String),
    TooLarge,
}

impl XmlRows {
    pub(crate) fn new(
        text: Box<dyn Read + Send>,
        record_path: &str,
        limits: DecodeLimits,
        flag_replacement: bool,
    ) -> XmlRows {
        let reader = Reader::from_reader(BufReader::with_capacity(64 * 1024, LineIndex::new(text)));
        XmlRows {
            reader,
            record_path: record_path.split('/').map(str::to_string).collect(),
            open: Vec::new(),
            buf: Vec::new(),
            ordinal: 0,
            limits,
            flag_replacement,
            done: false,
        }
    }

    fn fail(&mut self, line: u64, message: String) -> Option<Result<Decoded, DecodeError>> {
        self.done = true;
        self.ordinal += 1;
        Some(Ok(Decoded::Rejected(RowError {
            ordinal: self.ordinal,
            line,
            code: codes::XML_SYNTAX,
            message: format!("{message}; the rest of the file is not read"),
        })))
    }

    fn line_at(&mut self, offset: u64) -> u64 {
        self.reader.get_mut().get_mut().line_at(offset)
    }

    fn at_record(&self, name: &str) -> bool {
        self.open.len() + 1 == self.record_path.len()
            && self.record_path.last().is_some_and(|last| last == name)
            && self
                .open
                .iter()
                .zip(&self.record_path)
                .all(|((open, _), path)| open == path)
    }

    fn context(&self) -> Value {
        let mut context = Map::new();
        for (name, attributes) in &self.open {
            if !attributes.is_empty() {
                context.insert(name.clone(), Value::Object(attributes.clone()));
            }
        }
        Value::Object(context)
    }

    fn record(
        &mut self,
        start: BytesStart<'static>,
        empty: bool,
        ordinal: u64,
        line: u64,
    ) -> Decoded {
        let mut budget = self.limits.max_record_bytes;
        let element = attributes(&start)
            .map_err(RecordError::Xml)
            .and_then(|attrs| {
                if empty {
                    Ok(leaf(attrs, String::new()))
                } else {
                    read_element(
                        &mut self.reader,
                        attrs,
                        1,
                        self.limits.max_depth,
                        &mut budget,
                    )
                }
            });
        let reject = |code, message: String| {
            Decoded::Rejected(RowError {
                ordinal,
                line,
                code,
                message,
            })
        };
        match element {
            Ok(value) => {
                let mut object = match value {
                    Value::Object(map) => map,
                    Value::String(text) if text.is_empty() => Map::new(),
                    text => Map::from_iter([("#text".to_string(), text)]),
                };
                object.insert("$context".into(), self.context());
                let fields = Value::Object(object).to_string();
                if self.flag_replacement && has_replacement(&fields) {
                    return Decoded::Rejected(crate::encoding_error(ordinal, line));
                }
                Decoded::Record(RawRecord {
                    ordinal,
                    line,
                    fields: RowFields::Json(fields),
                })
            }
            Err(RecordError::Xml(message)) => {
                // The element's end is unknown: nothing after it can be trusted.
                self.done = true;
                reject(
                    codes::XML_SYNTAX,
                    format!("{message}; the rest of the file is not read"),
                )
            }
            Err(RecordError::TooLarge) => {
                self.done = true;
                reject(
                    codes::RECORD_TOO_LARGE,
                    format!(
                        "the element is larger than {} bytes or nested deeper than {}; the rest of the file is not read",
                        self.limits.max_record_bytes, self.limits.max_depth
                    ),
                )
            }
        }
    }
}

fn name_of(start: &BytesStart) -> String {
    start.name().as_ref().to_string()
}

fn attributes(start: &BytesStart) -> Result<Map<String, Value>, String> {
    let mut map = Map::new();
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|e| format!("malformed attribute: {e}"))?;
        let key = format!("@{}", attribute.key.as_ref());
        let value = attribute
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|e| format!("attribute `{key}`: {e}"))?;
        map.insert(key, Value::String(value.into_owned()));
    }
    Ok(map)
}

fn resolve_reference(reference: &BytesRef) -> Result<char, String> {
    if let Some(c) = reference
        .resolve_char_ref()
        .map_err(|e| format!("bad character reference: {e}"))?
    {
        return Ok(c);
    }
    match reference.xml10_content().as_ref() {
        "lt" => Ok('<'),
        "gt" => Ok('>'),
        "amp" => Ok('&'),
        "apos" => Ok('\''),
        "quot" => Ok('"'),
        other => Err(format!("entity `&{other};` is not predefined; declared and external entities are never expanded")),
    }
}

fn leaf(attrs: Map<String, Value>, text: String) -> Value {
    if attrs.is_empty() {
        Value::String(text)
    } else {
        let mut attrs = attrs;
        if !text.is_empty() {
            attrs.insert("#text".into(), Value::String(text));
        }
        Value::Object(attrs)
    }
}

fn insert_child(children: &mut Map<String, Value>, name: String, value: Value) {
    match children.get_mut(&name) {
        None => {
            children.insert(name, value);
        }
        Some(Value::Array(items)) => items.push(value),
        Some(existing) => {
            let first = existing.take();
            *existing = Value::Array(vec![first, value]);
        }
    }
}

/// Reads the content of an element whose start tag was just read, up to its end tag.
fn read_element(
    reader: &mut Reader<Source>,
    attrs: Map<String, Value>,
    depth: usize,
    max_depth: usize,
    budget: &mut usize,
) -> Result<Value, RecordError> {
    if depth > max_depth {
        return Err(RecordError::TooLarge);
    }
    let mut children = Map::new();
    let mut text = String::new();
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let before = reader.buffer_position();
        let event = reader.read_event_into(&mut buf).map_err(|e| match e {
            quick_xml::Error::Io(io) if RecordTooLarge::is(&io) => RecordError::TooLarge,
            e => RecordError::Xml(format!("malformed XML: {e}")),
        })?;
        let used = (reader.buffer_position() - before) as usize;
        *budget = budget.checked_sub(used).ok_or(RecordError::TooLarge)?;
        match event {
            Event::Start(start) => {
                let name = name_of(&start);
                let child_attrs = attributes(&start).map_err(RecordError::Xml)?;
                let child = read_element(reader, child_attrs, depth + 1, max_depth, budget)?;
                insert_child(&mut children, name, child);
            }
            Event::Empty(start) => {
                let name = name_of(&start);
                let child_attrs = attributes(&start).map_err(RecordError::Xml)?;
                insert_child(&mut children, name, leaf(child_attrs, String::new()));
            }
            Event::Text(t) => text.push_str(&t.xml10_content()),
            Event::CData(c) => text.push_str(&c.xml10_content()),
            Event::GeneralRef(r) => text.push(resolve_reference(&r).map_err(RecordError::Xml)?),
            Event::End(_) => break,
            Event::Eof => return Err(RecordError::Xml("the file ends inside this element".into())),
            Event::Comment(_) | Event::PI(_) | Event::Decl(_) | Event::DocType(_) => {}
        }
    }
    let text = text.trim().to_string();
    if children.is_empty() {
        return Ok(leaf(attrs, text));
    }
    let mut object = attrs;
    for (name, child) in children {
        object.insert(name, child);
    }
    if !text.is_empty() {
        object.insert("#text".into(), Value::String(text));
    }
    Ok(Value::Object(object))
}

impl Iterator for XmlRows {
    type Item = Result<Decoded, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            self.buf.clear();
            let budget = self.limits.max_record_bytes as u64 + 256 * 1024;
            self.reader.get_mut().get_mut().allow(budget);
            let before = self.reader.buffer_position();
            let event = match self.reader.read_event_into(&mut self.buf) {
                Ok(event) => event.into_owned(),
                Err(quick_xml::Error::Io(e)) if RecordTooLarge::is(&e) => {
                    let line = self.line_at(before);
                    self.done = true;
                    self.ordinal += 1;
                    return Some(Ok(Decoded::Rejected(RowError {
                        ordinal: self.ordinal,
                        line,
                        code: codes::RECORD_TOO_LARGE,
                        message: e.to_string(),
                    })));
                }
                Err(e) => {
                    let line = self.line_at(before);
                    return self.fail(line, format!("malformed XML: {e}"));
                }
            };
            let (start, empty) = match event {
                Event::Start(start) => (start, false),
                Event::Empty(start) => (start, true),
                Event::End(_) => {
                    self.open.pop();
                    continue;
                }
                Event::Eof => {
                    self.done = true;
                    if let Some((name, _)) = self.open.last() {
                        let message = format!("the file ends before `</{name}>`: it is truncated");
                        return Some(Err(DecodeError::Structure(message)));
                    }
                    continue;
                }
                _ => continue,
            };
            let line = self.line_at(before);
            if self.at_record(&name_of(&start)) {
                self.ordinal += 1;
                return Some(Ok(self.record(start, empty, self.ordinal, line)));
            }
            if empty {
                continue;
            }
            let attrs = match attributes(&start) {
                Ok(attrs) if self.open.len() < self.limits.max_depth => attrs,
                Ok(_) => return self.fail(line, "elements are nested too deeply".into()),
                Err(message) => return self.fail(line, message),
            };
            self.open.push((name_of(&start), attrs));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode;
    use conform_model::plugin::XmlOptions;
    use conform_model::{InputFormat, TextEncoding};

    fn rows(text: &str, path: &str) -> Vec<Result<Decoded, DecodeError>> {
        let format = InputFormat::Xml(XmlOptions {
            record_path: path.into(),
        });
        decode(
            std::io::Cursor::new(text.as_bytes().to_vec()),
            &format,
            TextEncoding::Utf8,
            DecodeLimits::default(),
        )
        .collect()
    }

    fn record(d: &Result<Decoded, DecodeError>) -> (u64, Value) {
        match d {
            Ok(Decoded::Record(r)) => (r.line, serde_json::from_str(&r.fields.json()).unwrap()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn records_carry_attributes_children_text_and_context() {
        let xml = "<?xml version=\"1.0\"?>\n<!-- c -->\n<Cat supplier=\"S1\">\n  <Part id=\"A\">\n    <Name>x &lt;1&gt; &#x41;</Name>\n    <W unit=\"g\">2.5</W>\n    <Tag>a</Tag><Tag>b</Tag>\n  </Part>\n  <Part id=\"B\"><Name><![CDATA[M8 & co]]></Name></Part>\n  <Part id=\"C\"/>\n</Cat>\n";
        let out = rows(xml, "Cat/Part");
        assert_eq!(out.len(), 3);
        let (line, a) = record(&out[0]);
        assert_eq!(line, 4);
        assert_eq!(a["@id"], "A");
        assert_eq!(a["Name"], "x <1> A");
        assert_eq!(a["W"]["@unit"], "g");
        assert_eq!(a["W"]["#text"], "2.5");
        assert_eq!(a["Tag"], serde_json::json!(["a", "b"]));
        assert_eq!(a["$context"]["Cat"]["@supplier"], "S1");
        let (line, b) = record(&out[1]);
        assert_eq!(line, 9);
        assert_eq!(b["Name"], "M8 & co");
        let (line, c) = record(&out[2]);
        assert_eq!((line, &c["@id"]), (10, &Value::from("C")));
    }

    #[test]
    fn a_huge_element_is_rejected_without_being_held() {
        let xml = format!(
            "<r><p><n>1</n></p><p><n>{}</n></p><p/></r>",
            "x".repeat(3 << 20)
        );
        let format = InputFormat::Xml(XmlOptions {
            record_path: "r/p".into(),
        });
        let limits = DecodeLimits {
            max_record_bytes: 1 << 20,
            ..DecodeLimits::default()
        };
        let out: Vec<_> = decode(
            std::io::Cursor::new(xml.into_bytes()),
            &format,
            TextEncoding::Utf8,
            limits,
        )
        .collect();
        assert!(matches!(&out[0], Ok(Decoded::Record(_))));
        assert!(
            matches!(&out[1], Ok(Decoded::Rejected(e)) if e.code == codes::RECORD_TOO_LARGE),
            "{:?}",
            out[1]
        );
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn declared_entities_are_never_expanded() {
        let xml = "<!DOCTYPE r [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;\"><!ENTITY ext SYSTEM \"file:///etc/passwd\">]>\n<r><p><n>&b;</n></p><p><n>&ext;</n></p></r>";
        let out = rows(xml, "r/p");
        assert_eq!(out.len(), 1, "the first bad record ends the file: {out:?}");
        match &out[0] {
            Ok(Decoded::Rejected(e)) => {
                assert_eq!(e.code, codes::XML_SYNTAX);
                assert!(
                    e.message.contains("`&b;` is not predefined"),
                    "{}",
                    e.message
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn malformed_and_truncated_files_say_where() {
        let out = rows("<r>\n<p><n>1</n></p>\n<p><n>2</x></p></r>", "r/p");
        assert!(matches!(&out[0], Ok(Decoded::Record(_))));
        assert!(
            matches!(&out[1], Ok(Decoded::Rejected(e)) if e.line == 3 && e.code == codes::XML_SYNTAX)
        );
        let out = rows("<r><p/>", "r/p");
        assert!(matches!(&out[1], Err(DecodeError::Structure(m)) if m.contains("</r>")));
    }
}
