//! The upload page at `/` in a real headless Chromium: what an enterprise's
//! staff do with it, checked against what the CLI makes of the same files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::support::browser::Browser;
use crate::support::server::*;
use crate::support::*;

/// What `conform convert` makes of `file` with `plugin`: the summary, the
/// records and the error report.
fn cli_conversion(file: &Path, plugin: &str) -> (Value, Vec<Value>, Vec<Value>) {
    let dir = tempfile::tempdir().unwrap();
    let (records, errors) = (dir.path().join("r.ndjson"), dir.path().join("e.ndjson"));
    let output = conform()
        .arg("convert")
        .arg(file)
        .args(["--plugin", plugin, "--summary", "json", "--output"])
        .arg(&records)
        .arg("--errors")
        .arg(&errors)
        .output()
        .unwrap();
    expect_exit(&output, 0);
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
    let read = |path: &Path| ndjson(&std::fs::read_to_string(path).unwrap());
    (summary["files"][0].clone(), read(&records), read(&errors))
}

/// Rejections per code, as the error report lists them.
fn codes_of(errors: &[Value]) -> BTreeMap<String, usize> {
    let mut codes = BTreeMap::new();
    for error in errors {
        *codes
            .entry(error["code"].as_str().unwrap().to_string())
            .or_insert(0) += 1;
    }
    codes
}

/// Signs in as the uploader (after a wrong token is refused, saying so).
fn sign_in(browser: &Browser, server: &Server) {
    browser.goto(&server.base);
    assert_eq!(
        browser.text("#sign-in-title"),
        "1. 登录",
        "Chinese by default"
    );
    browser.type_into("#token", "not-a-token");
    browser.click("#sign-in-form button[type=submit]");
    browser.wait_until("the refusal", 10, || {
        browser
            .text("#sign-in-message")
            .contains("令牌无效")
            .then_some(())
    });
    browser.script("document.getElementById('token').value = '';", json!([]));
    browser.type_into("#token", UPLOADER);
    browser.click("#sign-in-form button[type=submit]");
    browser.wait_until("the upload form", 10, || {
        browser.shown("#upload").then_some(())
    });
}

/// Chooses `file`, checks that the page suggests `plugin`, uploads it and
/// waits for the job to end; the page's counts.
fn upload(browser: &Browser, file: &Path, plugin: &str) -> (u64, u64, u64) {
    browser.type_into("#file", file.to_str().unwrap());
    let suggested = browser.wait_until("a suggested plugin", 10, || {
        let value = browser.script("return document.getElementById('plugin').value;", json!([]));
        (!browser.text("#plugin-hint").is_empty()).then_some(value)
    });
    assert_eq!(suggested, plugin, "suggested from `{}`", file.display());
    assert!(browser.text("#plugin-hint").contains(plugin));
    browser.click("#upload-button");
    browser.wait_until("the job's end", 60, || {
        (browser.shown("#result") && browser.text("#status").starts_with("转换完成")).then_some(())
    });
    let count = |css: &str| browser.text(css).parse::<u64>().unwrap();
    (count("#rows-in"), count("#converted"), count("#rejected"))
}

/// The page's groups of rejected rows: code → the count its heading says.
fn page_groups(browser: &Browser) -> BTreeMap<String, usize> {
    let groups = browser.script(
        "return [...document.querySelectorAll('#problems .group')].map(g => [g.dataset.code, g.querySelector('.count').textContent]);",
        json!([]),
    );
    groups
        .as_array()
        .unwrap()
        .iter()
        .map(|pair| {
            let count: String = pair[1]
                .as_str()
                .unwrap()
                .chars()
                .filter(char::is_ascii_digit)
                .collect();
            (
                pair[0].as_str().unwrap().to_string(),
                count.parse().unwrap(),
            )
        })
        .collect()
}

/// The rows of a downloaded workbook's first sheet, as text.
fn workbook_rows(bytes: Vec<u8>) -> Vec<Vec<String>> {
    use calamine::Reader;
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    let sheet = book.sheet_names()[0].clone();
    let range = book.worksheet_range(&sheet).unwrap();
    range
        .rows()
        .map(|row| row.iter().map(ToString::to_string).collect())
        .collect()
}

/// The rows of a downloaded CSV (without a leading byte-order mark).
fn csv_rows(bytes: &[u8]) -> Vec<Vec<String>> {
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.trim_start_matches('\u{FEFF}').as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

/// Clicks each download of the finished job and checks each file against
/// the CLI's conversion of `upload`.
fn check_downloads(browser: &Browser, upload: &str, cli: &(Value, Vec<Value>, Vec<Value>)) {
    let (summary, records, errors) = cli;
    let download = |kind: &str, format: &str| {
        browser.click(&format!("[data-download={kind}][data-format={format}]"));
        browser.downloaded(&format!("{upload}.{kind}.{format}"))
    };
    let mut got = ndjson(&String::from_utf8(download("records", "ndjson")).unwrap());
    let mut expected = records.clone();
    for line in got.iter_mut().chain(expected.iter_mut()) {
        line["source"].as_object_mut().unwrap().remove("file");
    }
    assert_eq!(got, expected, "the records are the CLI's");
    assert_eq!(
        csv_rows(&download("records", "csv")).len(),
        records.len() + 1
    );
    let sheet = workbook_rows(download("records", "xlsx"));
    assert_eq!(
        sheet.len(),
        records.len() + 1,
        "a header and a row per record"
    );
    assert!(
        sheet[0].iter().any(|c| c == "record_type"),
        "{:?}",
        sheet[0]
    );
    assert_eq!(csv_rows(&download("errors", "csv")).len(), errors.len() + 1);
    assert_eq!(
        workbook_rows(download("errors", "xlsx")).len(),
        errors.len() + 1
    );
    let rows_in = summary["rows_in"].as_u64().unwrap() as usize;
    let rejected = summary["rejected"].as_u64().unwrap() as usize;
    let annotated_csv = download("annotated", "csv");
    assert!(
        annotated_csv.starts_with("\u{FEFF}".as_bytes()),
        "a BOM for spreadsheets"
    );
    for rows in [
        csv_rows(&annotated_csv),
        workbook_rows(download("annotated", "xlsx")),
    ] {
        assert_eq!(
            rows.len(),
            rows_in + 1,
            "every row of the upload, under a header"
        );
        assert_eq!(rows[0].first().map(String::as_str), Some("行号 line"));
        assert_eq!(rows[0].last().map(String::as_str), Some("问题 problems"));
        let with_problems = rows[1..]
            .iter()
            .filter(|r| !r.last().unwrap().is_empty())
            .count();
        assert_eq!(
            with_problems, rejected,
            "the rejected rows, and only they, say what is wrong"
        );
        for error in errors.iter().filter(|e| e["code"] != "more-problems") {
            let line = error["line"].to_string();
            let row = rows
                .iter()
                .find(|r| r[0] == line)
                .unwrap_or_else(|| panic!("line {line}"));
            assert!(
                row.last()
                    .unwrap()
                    .contains(error["code"].as_str().unwrap()),
                "line {line}: {row:?}"
            );
        }
    }
}

#[test]
fn the_page_converts_every_sample_export_and_a_workbook_with_each_download() {
    let server = configured("");
    let browser = Browser::start();
    browser.run("the_page_converts_every_sample_export", || {
        sign_in(&browser, &server);
        let dir = tempfile::tempdir().unwrap();
        let workbook = dir.path().join("jinggong-parts.xlsx");
        std::fs::write(
            &workbook,
            saved_as_workbook(&sample("jinggong-parts.csv"), "出货明细"),
        )
        .unwrap();
        let mut uploads: Vec<(PathBuf, &str)> = [
            "jinggong-parts.csv",
            "hengtai-parts.xml",
            "orchard-coop-apples.csv",
            "valley-farms-apples.json",
            "swift-express.ndjson",
            "eastroute-waybills.csv",
        ]
        .iter()
        .map(|name| (sample(name), name.split('.').next().unwrap()))
        .collect();
        for name in ["keqiao-dyeing-rolls.csv", "haiyun-export-rolls.json"] {
            uploads.push((textile_sample(name), name.split('.').next().unwrap()));
        }
        uploads.push((workbook.clone(), "jinggong-parts"));
        for (file, plugin) in &uploads {
            let cli = cli_conversion(file, plugin);
            let counts = upload(&browser, file, plugin);
            let (summary, _, errors) = &cli;
            let field = |k: &str| summary[k].as_u64().unwrap();
            assert_eq!(
                counts,
                (field("rows_in"), field("converted"), field("rejected")),
                "{}: the page's counts are the CLI's",
                file.display()
            );
            assert_eq!(
                page_groups(&browser),
                codes_of(errors),
                "{}",
                file.display()
            );
            assert_eq!(browser.shown("#no-problems"), errors.is_empty());
            let name = file.file_name().unwrap().to_str().unwrap();
            if name.starts_with("jinggong-parts") {
                check_downloads(&browser, name, &cli);
            }
            if file == &workbook {
                let lines = browser.text("#problems tbody");
                assert!(
                    lines.contains("工作表“出货明细”"),
                    "the sheet is named: {lines}"
                );
            }
            browser.click("#again");
            browser.wait_until("the form again", 10, || {
                (!browser.shown("#result")).then_some(())
            });
        }
    });
}

#[test]
fn the_page_pages_long_groups_speaks_english_drops_files_and_labels_its_inputs() {
    let server = configured("");
    let browser = Browser::start();
    browser.run("the_page_pages_long_groups", || {
        // A token that may not upload is told so at sign-in.
        browser.goto(&server.base);
        browser.type_into("#token", PROVIDER);
        browser.click("#sign-in-form button[type=submit]");
        browser.wait_until("the refusal", 10, || {
            browser
                .text("#sign-in-message")
                .contains("没有上传权限")
                .then_some(())
        });
        assert!(!browser.shown("#upload"));
        sign_in(&browser, &server);
        // Every input is labelled; progress and status are announced.
        let unlabelled = browser.script(
            "return [...document.querySelectorAll('input, select')].filter(e => e.labels.length === 0).map(e => e.id);",
            json!([]),
        );
        assert_eq!(unlabelled, json!([]));
        assert_eq!(browser.script("return document.getElementById('status').getAttribute('role');", json!([])), "status");

        // A file dropped on the zone is chosen, and its plugin suggested.
        browser.script(
            "const data = new DataTransfer(); data.items.add(new File(['x'], 'eastroute-waybills-2026-11.csv'));
             document.getElementById('drop-zone').dispatchEvent(new DragEvent('drop', {dataTransfer: data, bubbles: true, cancelable: true}));",
            json!([]),
        );
        assert!(browser.text("#file-chosen").contains("eastroute-waybills-2026-11.csv"));
        assert_eq!(browser.script("return document.getElementById('plugin').value;", json!([])), "eastroute-waybills");

        // 45 rows with a packaging term the standard lacks: one group of
        // three pages.
        let original = std::fs::read(sample("jinggong-parts.csv")).unwrap();
        let (text, _, _) = encoding_rs::GB18030.decode(&original);
        let mut lines = text.lines();
        let header = lines.next().unwrap();
        let good = lines.next().unwrap();
        let mut csv = format!("{header}\n");
        for i in 0..45 {
            csv.push_str(&good.replace("JG-10023", &format!("JG-9{i:04}")).replace("纸箱", "麻袋"));
            csv.push('\n');
        }
        let (bytes, _, _) = encoding_rs::GB18030.encode(&csv);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("jinggong-parts-bad-packaging.csv");
        std::fs::write(&file, &bytes).unwrap();
        assert_eq!(upload(&browser, &file, "jinggong-parts"), (45, 0, 45));
        let groups = page_groups(&browser);
        assert_eq!(groups.values().sum::<usize>(), 45, "{groups:?}");
        let code = groups.keys().next().unwrap().clone();
        let group = format!("#problems .group[data-code='{code}']");
        let rows = || {
            browser
                .script(&format!("return document.querySelectorAll(\"{group} tbody tr\").length;"), json!([]))
                .as_u64()
                .unwrap()
        };
        assert_eq!(browser.text(&format!("{group} .page")), "第 1 / 3 页");
        assert_eq!(rows(), 20);
        browser.click(&format!("{group} .next"));
        browser.click(&format!("{group} .next"));
        assert_eq!(browser.text(&format!("{group} .page")), "第 3 / 3 页");
        assert_eq!(rows(), 5);
        assert!(browser.text(&format!("{group} tbody")).contains("麻袋"), "the message names the value");

        // English, and back.
        browser.click("#language");
        assert_eq!(browser.text("#result-title"), "3. Result");
        assert_eq!(browser.text(&format!("{group} .page")), "Page 3 of 3");
        assert_eq!(browser.script("return document.documentElement.lang;", json!([])), "en");
        assert_eq!(browser.script("return document.getElementById('language').getAttribute('aria-pressed');", json!([])), "true");
        browser.click("#language");
        assert_eq!(browser.text("#result-title"), "3. 结果");
    });
}

#[test]
fn the_page_is_served_without_a_token_with_a_strict_policy() {
    let server = configured("");
    for (path, kind) in [
        ("/", "text/html"),
        ("/page/app.js", "text/javascript"),
        ("/page/app.css", "text/css"),
    ] {
        let response = agent()
            .get(format!("{}{path}", server.base))
            .call()
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "{path}");
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        };
        assert!(header("content-type").starts_with(kind), "{path}");
        let policy = header("content-security-policy");
        assert!(
            policy.contains("script-src 'self'") && !policy.contains("unsafe-inline"),
            "{policy}"
        );
        assert_eq!(header("x-content-type-options"), "nosniff");
    }
}
