//! Workbooks built here (rust_xlsxwriter for .xlsx; .ods and .xls by hand,
//! as small as calamine reads them): no binary fixtures.

use std::io::{Cursor, Write};

use conform_model::codes;
use conform_model::plugin::{CsvOptions, InputSpec, SheetRef, SpreadsheetOptions};
use conform_model::{InputFormat, TextEncoding};
use rust_xlsxwriter::{ExcelDateTime, Format, Formula, Workbook};
use serde_json::Value;

use crate::{open, DecodeError, DecodeLimits, Decoded, WorkbookOptions};

fn csv_spec(spreadsheet: Option<SpreadsheetOptions>) -> InputSpec {
    InputSpec {
        encoding: TextEncoding::Gb18030,
        files: Vec::new(),
        format: InputFormat::Csv(CsvOptions::default()),
        spreadsheet,
    }
}

/// A row as (line, its cells as JSON) or (line, "code: message") when
/// rejected; the file's stop as `Err`.
type Row = Result<(u64, String), String>;

/// The sheet read and its rows.
fn read(bytes: Vec<u8>, spec: &InputSpec) -> (Option<String>, Vec<Row>) {
    let opened = open(
        Cursor::new(bytes),
        spec,
        DecodeLimits::default(),
        &WorkbookOptions::default(),
    );
    let rows = opened
        .rows
        .map(|row| match row {
            Ok(Decoded::Record(r)) => Ok((r.line, r.fields.json().into_owned())),
            Ok(Decoded::Rejected(e)) => Ok((e.line, format!("{}: {}", e.code, e.message))),
            Err(e) => Err(e.to_string()),
        })
        .collect();
    (opened.sheet, rows)
}

fn object(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

/// A sheet like the sample Jinggong export, with typed cells.
fn parts_workbook() -> Vec<u8> {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("出货明细").unwrap();
    for (c, name) in ["零件号", "长度(英寸)", "公差(英寸)", "发货时间", "每包数量"]
        .iter()
        .enumerate()
    {
        sheet.write_string(0, c as u16, *name).unwrap();
    }
    let two_places = Format::new().set_num_format("0.00");
    let when = Format::new().set_num_format("yyyy/mm/dd hh:mm");
    sheet.write_string(1, 0, "JG-10023").unwrap();
    sheet.write_number(1, 1, 2.5).unwrap();
    sheet
        .write_number_with_format(1, 2, 0.002, &two_places)
        .unwrap();
    let at = ExcelDateTime::from_ymd(2026, 11, 3)
        .unwrap()
        .and_hms(14, 5, 0)
        .unwrap();
    sheet.write_datetime_with_format(1, 3, &at, &when).unwrap();
    sheet.write_number(1, 4, 20.0).unwrap();
    // Row 3 is blank; row 4 leaves a cell empty.
    sheet.write_string(3, 0, "JG-10024").unwrap();
    sheet.write_number(3, 1, 1.25).unwrap();
    sheet.write_number(3, 4, 500.0).unwrap();
    book.save_to_buffer().unwrap()
}

#[test]
fn an_xlsx_sheet_reads_as_the_sheet_shows_it_with_its_rows_numbers() {
    let (sheet, rows) = read(parts_workbook(), &csv_spec(None));
    assert_eq!(sheet.as_deref(), Some("出货明细"));
    let rows: Vec<(u64, String)> = rows.into_iter().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2, "the blank row is not a row: {rows:?}");
    assert_eq!(rows[0].0, 2);
    assert_eq!(
        object(&rows[0].1),
        serde_json::json!({"零件号": "JG-10023", "长度(英寸)": "2.5", "公差(英寸)": "0.00",
            "发货时间": "2026/11/03 14:05", "每包数量": "20"})
    );
    assert_eq!(rows[1].0, 4, "numbered as the sheet numbers it");
    assert_eq!(object(&rows[1].1)["发货时间"], "");
}

#[test]
fn the_sheet_is_chosen_by_name_or_place_and_a_missing_one_is_named() {
    let mut book = Workbook::new();
    book.add_worksheet()
        .set_name("说明")
        .unwrap()
        .write_string(0, 0, "请看第二页")
        .unwrap();
    let data = book.add_worksheet();
    data.set_name("数据").unwrap();
    data.write_string(0, 0, "编号").unwrap();
    data.write_string(1, 0, "A1").unwrap();
    let bytes = book.save_to_buffer().unwrap();
    for sheet in [SheetRef::Name("数据".into()), SheetRef::Index(2)] {
        let spec = csv_spec(Some(SpreadsheetOptions {
            sheet: Some(sheet),
            header_row: None,
        }));
        let (name, rows) = read(bytes.clone(), &spec);
        assert_eq!(name.as_deref(), Some("数据"));
        assert_eq!(rows, vec![Ok((2, r#"{"编号":"A1"}"#.to_string()))]);
    }
    let spec = csv_spec(Some(SpreadsheetOptions {
        sheet: Some(SheetRef::Name("明细".into())),
        header_row: None,
    }));
    let (_, rows) = read(bytes, &spec);
    let [Err(e)] = &rows[..] else {
        panic!("{rows:?}")
    };
    assert!(
        e.contains("no sheet \"明细\"") && e.contains("\"说明\", \"数据\""),
        "{e}"
    );
}

#[test]
fn title_rows_above_the_header_and_a_header_less_sheet() {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "2026年11月发货单").unwrap();
    sheet.write_string(2, 0, "编号").unwrap();
    sheet.write_string(2, 1, "数量").unwrap();
    sheet.write_string(3, 0, "A1").unwrap();
    sheet.write_number(3, 1, 3.0).unwrap();
    let bytes = book.save_to_buffer().unwrap();
    let titled = csv_spec(Some(SpreadsheetOptions {
        sheet: None,
        header_row: Some(3),
    }));
    let (_, rows) = read(bytes.clone(), &titled);
    assert_eq!(
        rows,
        vec![Ok((4, r#"{"编号":"A1","数量":"3"}"#.to_string()))]
    );
    // Row 2 is empty: a header there is missing, and the file says so.
    let wrong = csv_spec(Some(SpreadsheetOptions {
        sheet: None,
        header_row: Some(2),
    }));
    let (_, rows) = read(bytes, &wrong);
    let [Err(e)] = &rows[..] else {
        panic!("{rows:?}")
    };
    assert!(
        e.contains("row 2 of sheet \"Sheet1\"") && e.contains("is empty"),
        "{e}"
    );
}

#[test]
fn an_error_cell_or_a_value_beside_the_table_rejects_its_row_only() {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "编号").unwrap();
    sheet.write_string(0, 1, "单价").unwrap();
    sheet.write_string(1, 0, "A1").unwrap();
    sheet
        .write_formula(1, 1, Formula::new("=1/0").set_result("#DIV/0!"))
        .unwrap();
    sheet.write_string(2, 0, "A2").unwrap();
    sheet.write_string(2, 3, "备注: 加急").unwrap();
    sheet.write_string(3, 0, "A3").unwrap();
    sheet.write_number(3, 1, 9.5).unwrap();
    let (_, rows) = read(book.save_to_buffer().unwrap(), &csv_spec(None));
    let rows: Vec<(u64, String)> = rows.into_iter().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].0, 2);
    assert!(
        rows[0].1.starts_with(codes::CELL_ERROR)
            && rows[0].1.contains("cell B2 (单价) shows the error #DIV/0!"),
        "{}",
        rows[0].1
    );
    assert!(
        rows[1].1.starts_with(codes::CELL_OUTSIDE_TABLE) && rows[1].1.contains("cell D3"),
        "{}",
        rows[1].1
    );
    assert_eq!(rows[2], (4, r#"{"编号":"A3","单价":"9.5"}"#.to_string()));
}

#[test]
fn a_non_csv_plugin_still_refuses_a_workbook() {
    let spec = InputSpec {
        format: InputFormat::Ndjson,
        ..csv_spec(None)
    };
    let (_, rows) = read(parts_workbook(), &spec);
    let [Err(e)] = &rows[..] else {
        panic!("{rows:?}")
    };
    assert!(
        e.contains("not NDJSON text") && e.contains("a CSV plugin reads workbooks"),
        "{e}"
    );
}

/// A ZIP of `(name, text)` parts, deflated.
fn zip_of(parts: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, text) in parts {
        out.start_file(*name, options).unwrap();
        out.write_all(text).unwrap();
    }
    out.finish().unwrap().into_inner()
}

/// `bytes` with the ZIP part `name` replaced by `text`.
fn with_part(bytes: &[u8], name: &str, text: &[u8]) -> Vec<u8> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let mut parts: Vec<(String, Vec<u8>)> = Vec::new();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).unwrap();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut data).unwrap();
        let entry_name = entry.name().unwrap().to_string();
        let data = if entry_name == name {
            text.to_vec()
        } else {
            data
        };
        parts.push((entry_name, data));
    }
    let borrowed: Vec<(&str, &[u8])> = parts
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    zip_of(&borrowed)
}

fn refusal(bytes: Vec<u8>) -> String {
    let (_, rows) = read(bytes, &csv_spec(None));
    match &rows[..] {
        [Err(e)] => e.clone(),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn a_declared_shared_strings_count_beyond_the_part_is_refused_before_calamine_reserves_it() {
    let sst = br#"<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="4000000000000"><si><t>x</t></si></sst>"#;
    let bytes = with_part(&parts_workbook(), "xl/sharedStrings.xml", sst);
    let e = refusal(bytes);
    assert!(e.contains("declares 4000000000000 shared strings"), "{e}");
}

#[test]
fn an_xlsx_declaring_the_whole_sheet_as_its_dimension_still_streams_its_few_cells() {
    let bytes = parts_workbook();
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes.clone())).unwrap();
    let mut sheet = String::new();
    std::io::Read::read_to_string(
        &mut archive.by_name("xl/worksheets/sheet1.xml").unwrap(),
        &mut sheet,
    )
    .unwrap();
    let start = sheet.find("<dimension ref=\"").unwrap() + "<dimension ref=\"".len();
    let end = start + sheet[start..].find('"').unwrap();
    sheet.replace_range(start..end, "A1:XFD1048576");
    let bytes = with_part(&bytes, "xl/worksheets/sheet1.xml", sheet.as_bytes());
    // Nothing is sized by the declaration (17 billion cells would abort).
    let (_, rows) = read(bytes, &csv_spec(None));
    assert_eq!(rows.len(), 2, "{rows:?}");
}

#[test]
fn an_xlsx_whose_main_part_is_elsewhere_is_refused() {
    let rels = br#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/worksheets/wb.xml"/></Relationships>"#;
    let e = refusal(with_part(&parts_workbook(), "_rels/.rels", rels));
    assert!(
        e.contains("`xl/worksheets/wb.xml`, not `xl/workbook.xml`"),
        "{e}"
    );
}

#[test]
fn a_row_of_more_cells_than_a_sheet_has_columns_is_rejected_and_the_next_row_reads() {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "编号").unwrap();
    sheet.write_string(1, 0, "WIDE").unwrap();
    sheet.write_string(2, 0, "A2").unwrap();
    let bytes = book.save_to_buffer().unwrap();
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes.clone())).unwrap();
    let mut xml = String::new();
    std::io::Read::read_to_string(
        &mut archive.by_name("xl/worksheets/sheet1.xml").unwrap(),
        &mut xml,
    )
    .unwrap();
    // Cells without a place count on from the last: 20 000 of them in row 2.
    let wide: String = "<c t=\"inlineStr\"><is><t>x</t></is></c>".repeat(20_000);
    let second = xml.find("<row r=\"2\"").unwrap();
    let end_of_second = second + xml[second..].find("</row>").unwrap();
    xml.insert_str(end_of_second, &wide);
    let (_, rows) = read(
        with_part(&bytes, "xl/worksheets/sheet1.xml", xml.as_bytes()),
        &csv_spec(None),
    );
    assert_eq!(
        rows.len(),
        2,
        "{:?}",
        &rows
            .iter()
            .map(|r| r.as_ref().map(|(l, t)| (*l, t.len())))
            .collect::<Vec<_>>()
    );
    let (line, text) = rows[0].clone().unwrap();
    assert_eq!(line, 2);
    assert!(
        text.starts_with("record-too-large") && text.contains("16384 cells"),
        "{text}"
    );
    assert_eq!(rows[1], Ok((3, r#"{"编号":"A2"}"#.to_string())));
}

#[test]
fn a_shared_text_longer_than_a_record_rejects_each_row_that_names_it() {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "备注").unwrap();
    let long = "长".repeat(2000);
    for row in 1..=3 {
        sheet.write_string(row, 0, &long).unwrap();
    }
    sheet.write_string(4, 0, "短").unwrap();
    let limits = DecodeLimits {
        max_record_bytes: 1000,
        ..DecodeLimits::default()
    };
    let rows: Vec<_> = open(
        Cursor::new(book.save_to_buffer().unwrap()),
        &csv_spec(None),
        limits,
        &WorkbookOptions::default(),
    )
    .rows
    .map(|r| match r.unwrap() {
        Decoded::Record(r) => (r.line, r.fields.json().into_owned()),
        Decoded::Rejected(e) => (e.line, e.code.to_string()),
    })
    .collect();
    assert_eq!(
        rows,
        vec![
            (2, codes::RECORD_TOO_LARGE.to_string()),
            (3, codes::RECORD_TOO_LARGE.to_string()),
            (4, codes::RECORD_TOO_LARGE.to_string()),
            (5, r#"{"备注":"短"}"#.to_string()),
        ]
    );
}

#[test]
fn a_workbook_that_unpacks_far_beyond_its_size_is_refused() {
    // 80 MiB of one repeated row compresses to well under 1 MiB.
    let row = br#"<row r="2"><c r="A2" t="inlineStr"><is><t>x</t></is></c></row>"#;
    let mut sheet = br#"<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#.to_vec();
    while sheet.len() < 80 << 20 {
        sheet.extend_from_slice(row);
    }
    sheet.extend_from_slice(b"</sheetData></worksheet>");
    let bytes = with_part(&parts_workbook(), "xl/worksheets/sheet1.xml", &sheet);
    assert!(bytes.len() < 1 << 20, "{}", bytes.len());
    let e = refusal(bytes);
    assert!(e.contains("more than 100 times its size"), "{e}");
}

fn ods(content: &str) -> Vec<u8> {
    let content = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body><office:spreadsheet>{content}</office:spreadsheet></office:body></office:document-content>"#
    );
    zip_of(&[
        ("mimetype", b"application/vnd.oasis.opendocument.spreadsheet"),
        ("content.xml", content.as_bytes()),
        ("META-INF/manifest.xml", br#"<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>"#),
    ])
}

fn ods_cell(value: &str) -> String {
    match value.parse::<f64>() {
        Ok(_) => format!(
            r#"<table:table-cell office:value-type="float" office:value="{value}"><text:p>{value}</text:p></table:table-cell>"#
        ),
        Err(_) => format!(
            r#"<table:table-cell office:value-type="string"><text:p>{value}</text:p></table:table-cell>"#
        ),
    }
}

#[test]
fn an_ods_sheet_reads_too() {
    let row = |cells: &[&str]| {
        format!(
            "<table:table-row>{}</table:table-row>",
            cells.iter().map(|c| ods_cell(c)).collect::<String>()
        )
    };
    let content = format!(
        r#"<table:table table:name="明细">{}{}<table:table-row><table:table-cell/></table:table-row>{}</table:table>"#,
        row(&["编号", "长度"]),
        row(&["A1", "2.5"]),
        row(&["A2", "0.125"])
    );
    let (sheet, rows) = read(ods(&content), &csv_spec(None));
    assert_eq!(sheet.as_deref(), Some("明细"));
    assert_eq!(
        rows,
        vec![
            Ok((2, r#"{"编号":"A1","长度":"2.5"}"#.to_string())),
            Ok((4, r#"{"编号":"A2","长度":"0.125"}"#.to_string())),
        ]
    );
}

#[test]
fn an_ods_whose_repeats_span_millions_of_cells_is_refused() {
    let content = r#"<table:table table:name="x"><table:table-row table:number-rows-repeated="1048576"><table:table-cell table:number-columns-repeated="1024" office:value-type="float" office:value="1"/></table:table-row></table:table>"#;
    let e = refusal(ods(content));
    assert!(e.contains("the workbook is refused"), "{e}");
    // Values in attributes only, on self-closing cells.
    let content = r#"<table:table table:name="x"><table:table-row table:number-rows-repeated="6000"><table:table-cell office:value="1" table:number-columns-repeated="16384"/></table:table-row></table:table>"#;
    let e = refusal(ods(content));
    assert!(e.contains("the workbook is refused"), "{e}");
    // A cell's spaces, `<text:s text:c="N"/>`, each one a byte calamine writes.
    let content = r#"<table:table table:name="x"><table:table-row><table:table-cell office:value-type="string"><text:p>a<text:s text:c="4000000000"/>b</text:p></table:table-cell></table:table-row></table:table>"#;
    let e = refusal(ods(content));
    assert!(e.contains("cells' text"), "{e}");
}

/// An .xls (BIFF8 in an OLE file) of one sheet named "Sheet1", with a
/// Dimensions record and the given cells: a text (Label) or a number.
fn xls(dimensions: Option<(u32, u32, u16, u16)>, cells: &[(u16, u16, &str)]) -> Vec<u8> {
    Xls {
        dimensions,
        cells,
        ..Xls::default()
    }
    .build()
}

/// An .xls to build: its sheet's Dimensions and cells, records added to
/// the globals (after the sheet's BoundSheet) and to the sheet, and the
/// OLE streams holding the BIFF stream (`/Workbook` when empty).
#[derive(Default)]
struct Xls<'a> {
    dimensions: Option<(u32, u32, u16, u16)>,
    cells: &'a [(u16, u16, &'a str)],
    globals: Vec<(u16, Vec<u8>)>,
    sheet: Vec<(u16, Vec<u8>)>,
    streams: &'a [&'a str],
}

fn record(out: &mut Vec<u8>, kind: u16, body: &[u8]) {
    out.extend_from_slice(&kind.to_le_bytes());
    out.extend_from_slice(&(body.len() as u16).to_le_bytes());
    out.extend_from_slice(body);
}

impl Xls<'_> {
    fn build(&self) -> Vec<u8> {
        let bof = |dt: u16| {
            let mut body = vec![0x00, 0x06];
            body.extend_from_slice(&dt.to_le_bytes());
            body.extend_from_slice(&[0; 12]);
            body
        };
        let boundsheet = |at: u32| {
            let mut body = at.to_le_bytes().to_vec();
            body.extend_from_slice(&[0, 0, 6, 0]);
            body.extend_from_slice(b"Sheet1");
            body
        };
        let globals = |sheet_at: u32| {
            let mut out = Vec::new();
            record(&mut out, 0x0809, &bof(0x0005));
            record(&mut out, 0x0085, &boundsheet(sheet_at));
            for (kind, body) in &self.globals {
                record(&mut out, *kind, body);
            }
            record(&mut out, 0x000A, &[]);
            out
        };
        let mut stream = globals(0);
        stream = globals(stream.len() as u32);
        record(&mut stream, 0x0809, &bof(0x0010));
        if let Some((first_row, rows_end, first_column, columns_end)) = self.dimensions {
            let mut body = first_row.to_le_bytes().to_vec();
            body.extend_from_slice(&rows_end.to_le_bytes());
            body.extend_from_slice(&first_column.to_le_bytes());
            body.extend_from_slice(&columns_end.to_le_bytes());
            body.extend_from_slice(&[0, 0]);
            record(&mut stream, 0x0200, &body);
        }
        for (row, column, value) in self.cells {
            let mut body = row.to_le_bytes().to_vec();
            body.extend_from_slice(&column.to_le_bytes());
            body.extend_from_slice(&0u16.to_le_bytes());
            match value.parse::<f64>() {
                Ok(number) => {
                    body.extend_from_slice(&number.to_le_bytes());
                    record(&mut stream, 0x0203, &body);
                }
                Err(_) => {
                    let utf16: Vec<u16> = value.encode_utf16().collect();
                    body.extend_from_slice(&(utf16.len() as u16).to_le_bytes());
                    body.push(1);
                    for unit in utf16 {
                        body.extend_from_slice(&unit.to_le_bytes());
                    }
                    record(&mut stream, 0x0204, &body);
                }
            }
        }
        for (kind, body) in &self.sheet {
            record(&mut stream, *kind, body);
        }
        record(&mut stream, 0x000A, &[]);
        let mut file = cfb::CompoundFile::create(Cursor::new(Vec::new())).unwrap();
        let streams = if self.streams.is_empty() {
            &["/Workbook"][..]
        } else {
            self.streams
        };
        for name in streams {
            if let Some(parent) = std::path::Path::new(name).parent() {
                if parent != std::path::Path::new("/") {
                    file.create_storage_all(parent).unwrap();
                }
            }
            file.create_stream(name)
                .unwrap()
                .write_all(&stream)
                .unwrap();
        }
        file.flush().unwrap();
        file.into_inner().into_inner()
    }
}

#[test]
fn an_xls_sheet_reads_too() {
    let bytes = xls(
        Some((0, 3, 0, 2)),
        &[
            (0, 0, "编号"),
            (0, 1, "长度"),
            (1, 0, "A1"),
            (1, 1, "2.5"),
            (2, 0, "A2"),
            (2, 1, "12"),
        ],
    );
    let (sheet, rows) = read(bytes, &csv_spec(None));
    assert_eq!(sheet.as_deref(), Some("Sheet1"));
    assert_eq!(
        rows,
        vec![
            Ok((2, r#"{"编号":"A1","长度":"2.5"}"#.to_string())),
            Ok((3, r#"{"编号":"A2","长度":"12"}"#.to_string())),
        ]
    );
}

#[test]
fn an_xls_declaring_or_spanning_millions_of_cells_is_refused() {
    let declared = xls(Some((0, 1_000_000, 0, 200)), &[(0, 0, "编号")]);
    let e = refusal(declared);
    assert!(e.contains("more than the 2000000"), "{e}");
    let spanned = xls(None, &[(0, 0, "编号"), (65_000, 250, "x")]);
    let e = refusal(spanned);
    assert!(e.contains("more than the 2000000"), "{e}");
    // Calamine's wrap-around when the last row is before the first.
    let wrapped = xls(Some((5, 2, 0, 2)), &[(0, 0, "编号")]);
    let e = refusal(wrapped);
    assert!(e.contains("more than the 2000000"), "{e}");
    // A formula's String record before any formula lands at A1.
    let string_at_a1 = Xls {
        cells: &[(65_000, 250, "1")],
        sheet: vec![(0x0207, vec![1, 0, 0, b'x'])],
        ..Xls::default()
    };
    let e = refusal(string_at_a1.build());
    assert!(e.contains("more than the 2000000"), "{e}");
}

/// A shared-strings (SST) record of one string of `chars` compressed
/// characters, and `cells` LabelSst cells referring to it.
fn shared_string_sheet(chars: u16, cells: u16) -> Xls<'static> {
    let mut sst = 1u32.to_le_bytes().to_vec();
    sst.extend_from_slice(&1u32.to_le_bytes());
    sst.extend_from_slice(&chars.to_le_bytes());
    sst.push(0);
    sst.extend(std::iter::repeat_n(b'x', usize::from(chars)));
    let sheet = (0..cells)
        .map(|row| {
            let mut body = row.to_le_bytes().to_vec();
            body.extend_from_slice(&[0, 0, 0, 0]);
            body.extend_from_slice(&0u32.to_le_bytes());
            (0x00FD, body)
        })
        .collect();
    Xls {
        globals: vec![(0x00FC, sst)],
        sheet,
        ..Xls::default()
    }
}

#[test]
fn an_xls_whose_cells_copy_a_long_shared_string_beyond_the_budget_is_refused() {
    let (_, rows) = read(shared_string_sheet(20, 3).build(), &csv_spec(None));
    assert_eq!(rows.len(), 2, "a small one reads: {rows:?}");
    let e = refusal(shared_string_sheet(8000, 6000).build());
    assert!(e.contains("cells' text"), "{e}");
}

#[test]
fn an_xls_with_its_workbook_stream_twice_or_elsewhere_is_refused_or_read_as_calamine_reads_it() {
    let twice = Xls {
        cells: &[(0, 0, "编号")],
        streams: &["/Workbook", "/Book"],
        ..Xls::default()
    };
    let e = refusal(twice.build());
    assert!(e.contains("more than once"), "{e}");
    let nested = Xls {
        cells: &[(0, 0, "编号"), (1, 0, "A1")],
        streams: &["/Inner/Workbook"],
        ..Xls::default()
    };
    let (_, rows) = read(nested.build(), &csv_spec(None));
    assert_eq!(rows, vec![Ok((2, r#"{"编号":"A1"}"#.to_string()))]);
}

#[test]
fn other_zip_and_ole_files_are_named_for_what_they_are() {
    let e = refusal(zip_of(&[("readme.txt", b"hello")]));
    assert!(e.contains("a ZIP archive but not a workbook"), "{e}");
    let mut file = cfb::CompoundFile::create(Cursor::new(Vec::new())).unwrap();
    file.create_stream("/WordDocument")
        .unwrap()
        .write_all(b"x")
        .unwrap();
    file.flush().unwrap();
    let e = refusal(file.into_inner().into_inner());
    assert!(e.contains("not an Excel workbook"), "{e}");
    assert!(matches!(
        open(
            Cursor::new(b"PK\x03\x04garbage".to_vec()),
            &csv_spec(None),
            DecodeLimits::default(),
            &WorkbookOptions::default()
        )
        .rows
        .next(),
        Some(Err(DecodeError::Structure(_)))
    ));
}
