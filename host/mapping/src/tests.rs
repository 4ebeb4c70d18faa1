//! Mapping files checked against the sample packs: the repository's
//! mappings pass, and every kind of mistake is named at its line.

use std::path::{Path, PathBuf};

use crate::check::check;
use crate::Located;
use crate::MappingFile;
use conform_pack::Pack;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn regional() -> Pack {
    Pack::load(root().join("standards/sample-regional")).unwrap()
}

/// The problems of mapping `text` against the regional sample pack.
fn problems(text: &str) -> Vec<Located> {
    let mapping = MappingFile::parse("m.toml", text).unwrap_or_else(|e| panic!("{e}"));
    check(&mapping, text, &regional())
}

/// `found` is exactly the problems `expect` lists, in order: each at its
/// line, its message holding the words given.
fn assert_found(found: &[Located], expect: &[(usize, &str)]) {
    assert_eq!(found.len(), expect.len(), "{found:#?}");
    for ((line, words), problem) in expect.iter().zip(found) {
        assert_eq!(problem.line, *line, "{problem:?}");
        assert!(problem.message.contains(words), "{problem:?}");
    }
}

const HEAD: &str = r#"name = "acme-parts"
version = "0.1.0"
provider = "Acme (sample)"

[input]
encoding = "gbk"
[input.format.csv]
delimiter = ","

[target]
pack = "sample-regional"
versions = "^1.0"
record_type = "part"
"#;

/// Every field `part` requires, mapped from a column of its name, except
/// those given in `except`.
fn required_fields(except: &[&str]) -> String {
    let mut text = String::new();
    for (field, extra) in [
        ("part_no", ""),
        ("name", ""),
        ("supplier_code", ""),
        ("length_mm", "unit = \"mm\"\n"),
        ("width_mm", "unit = \"mm\"\n"),
        ("height_mm", "unit = \"mm\"\n"),
        ("tolerance_mm", "unit = \"mm\"\n"),
        ("mass_g", "unit = \"g\"\n"),
        ("packaging", "code_list = \"packaging\"\n"),
        ("quantity_per_package", ""),
    ] {
        if !except.contains(&field) {
            text.push_str(&format!(
                "\n[fields.{field}]\ncolumn = \"{field}\"\n{extra}"
            ));
        }
    }
    text
}

#[test]
fn the_sample_mappings_check_clean_against_their_packs() {
    let dir = root().join("mappings");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path().join("mapping.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let mapping = MappingFile::parse(&path.display().to_string(), &text).unwrap();
        let pack =
            Pack::load(root().join("standards").join(mapping.target.pack.get_ref())).unwrap();
        assert_eq!(check(&mapping, &text, &pack), vec![], "{}", path.display());
        // Its sample export (named as the mapping's folder) has every
        // column it names.
        let export = path.parent().unwrap().file_name().unwrap().to_owned();
        let sample = ["tests/fixtures/samples", "tests/fixtures/samples-textile"]
            .iter()
            .flat_map(|dir| std::fs::read_dir(root().join(dir)).unwrap())
            .map(|entry| entry.unwrap().path())
            .find(|file| file.file_stem() == Some(export.as_os_str()))
            .unwrap_or_else(|| panic!("no sample export named {export:?}"));
        let columns = crate::check::sample_columns(&mapping, &sample).unwrap();
        let missing = crate::check::check_columns(&mapping, &text, "sample", &columns);
        assert_eq!(missing, vec![], "{}", path.display());
        checked += 1;
    }
    assert!(
        checked >= 2,
        "fewer mappings than expected in {}",
        dir.display()
    );
}

#[test]
fn fields_keep_the_files_order() {
    let text =
        std::fs::read_to_string(root().join("mappings/jinggong-parts/mapping.toml")).unwrap();
    let mapping = MappingFile::parse("m.toml", &text).unwrap();
    let names: Vec<&str> = mapping
        .fields
        .keys()
        .map(|k| k.get_ref().as_str())
        .collect();
    assert_eq!(names[..3], ["part_no", "name", "supplier_code"]);
    assert_eq!(names.last(), Some(&"quantity_per_package"));
}

#[test]
fn a_complete_mapping_has_no_problem() {
    assert_eq!(problems(&format!("{HEAD}{}", required_fields(&[]))), vec![]);
}

#[test]
fn syntax_and_shape_errors_name_their_line() {
    let text = format!("{HEAD}\n[fields.part_no]\ncolum = \"零件号\"\n");
    let error = MappingFile::parse("m.toml", &text).unwrap_err();
    assert_eq!(error.problems.len(), 1);
    let line = text.lines().position(|l| l.starts_with("colum")).unwrap() + 1;
    assert_eq!(error.problems[0].line, line, "{error}");
    assert!(
        error.to_string().starts_with(&format!("m.toml:{line}: ")),
        "{error}"
    );
    assert!(error.to_string().contains("colum"), "{error}");
}

#[test]
fn every_name_the_pack_does_not_know_is_refused_at_its_line() {
    let text = format!(
        "{HEAD}{}\n[fields.lenght_mm]\ncolumn = \"x\"\n\n[fields.length_mm]\ncolumn = \"l\"\nunit = \"furlong\"\n\n[fields.packaging]\ncolumn = \"p\"\ncode_list = \"packing\"\n",
        required_fields(&["length_mm", "packaging"])
    );
    let found = problems(&text);
    let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
    let expect = [
        (
            line_of("[fields.lenght_mm]"),
            "`lenght_mm` is not a field of record type `part`",
        ),
        (line_of("furlong"), "furlong"),
        (line_of("packing"), "has no table `packing`"),
    ];
    assert_found(&found, &expect);
}

#[test]
fn a_field_needs_one_source_one_conversion_and_a_type_its_schema_holds() {
    let text = format!(
        "{HEAD}{}\n[fields.part_no]\ncolumn = \"a\"\nconstant = \"b\"\n\n[fields.name]\ntype = \"integer\"\ncolumn = \"n\"\n\n[fields.length_mm]\ncolumn = \"l\"\nunit = \"in\"\ncode_list = \"packaging\"\n",
        required_fields(&["part_no", "name", "length_mm"])
    );
    let messages: Vec<String> = problems(&text).into_iter().map(|p| p.message).collect();
    assert_eq!(messages.len(), 3, "{messages:#?}");
    assert!(
        messages[0].contains("has both `column` and `constant`"),
        "{messages:?}"
    );
    assert!(messages[1].contains("holds a string"), "{messages:?}");
    assert!(
        messages[2].contains("both `unit` and `code_list`"),
        "{messages:?}"
    );
}

#[test]
fn unmapped_required_fields_a_wrong_pack_and_bad_patterns_are_named() {
    let text = format!("{HEAD}{}", required_fields(&["mass_g"]));
    let found = problems(&text);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].message.contains("mass_g"), "{found:?}");

    let text = format!("{HEAD}{}", required_fields(&[]))
        .replace("pack = \"sample-regional\"", "pack = \"sample-textile\"");
    let found = problems(&text);
    assert!(
        found[0].message.contains("targets pack `sample-textile`"),
        "{found:?}"
    );

    let text = format!(
        "{HEAD}{}\n[fields.part_no]\ncolumn = \"p\"\nmatch = \"(unclosed\"\n",
        required_fields(&["part_no"])
    );
    let found = problems(&text);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].message.contains("not a regular expression"),
        "{found:?}"
    );
}

#[test]
fn keys_that_mean_nothing_alone_are_refused_at_their_line() {
    let text = format!(
        "{HEAD}{}\n[fields.length_mm]\ncolumn = \"l\"\nunits = \"in\"\n\n[fields.packaging]\ncolumn = \"p\"\ncode_list = \"packaging\"\nscope = \"a\"\nscope_column = \"b\"\n\n[fields.part_no]\nconstant = nan\noptional = true\n\n[fields.name]\ncolumn = \"n\"\ntime_format = \"time\"\n",
        required_fields(&["length_mm", "packaging", "part_no", "name"])
    );
    let found = problems(&text);
    let line_of = |needle: &str| text.lines().position(|l| l.starts_with(needle)).unwrap() + 1;
    let expect = [
        (line_of("units = "), "did you mean `unit`?"),
        (
            line_of("scope_column"),
            "both `scope` and `scope_column`: keep one scope",
        ),
        (line_of("constant = nan"), "must be a finite number"),
        (line_of("optional"), "cannot be optional"),
        (line_of("time_format"), "no `date` or `time` pattern"),
    ];
    assert_found(&found, &expect);
}

#[test]
fn a_long_pattern_and_bad_input_options_are_refused_without_parsing_them() {
    let long = "\\\\w".repeat(600);
    let text = format!(
        "{HEAD}{}\n[fields.part_no]\ncolumn = \"p\"\nmatch = \"{long}\"\n",
        required_fields(&["part_no"])
    )
    .replace("delimiter = \",\"", "delimiter = \"，\"");
    let found = problems(&text);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(
        found[0].message.contains("[input]: csv delimiter"),
        "{found:?}"
    );
    assert_eq!(
        found[0].line,
        text.lines().position(|l| l == "[input]").unwrap() + 1
    );
    assert!(found[1].message.contains("more than 1024"), "{found:?}");
}

#[test]
fn lines_are_found_for_every_byte() {
    let lines = crate::format::Lines::of_text("a\nbc\n\nd");
    let at: Vec<usize> = (0..9).map(|b| lines.line(b)).collect();
    assert_eq!(at, [1, 1, 2, 2, 2, 3, 4, 4, 4]);
}

#[test]
fn a_unit_or_scope_from_a_pointer_is_one_unit_source_and_a_pointer() {
    let text = format!(
        "{HEAD}{}\n[fields.length_mm]\npointer = \"/Size/@length\"\nunit_pointer = \"Size/@unit\"\nunit = \"cm\"\n\n[fields.packaging]\npointer = \"/Package/@type\"\ncode_list = \"packaging\"\nscope_pointer = \"/$context/x\"\nscope_column = \"y\"\n",
        required_fields(&["length_mm", "packaging"])
    );
    let found = problems(&text);
    let line_of = |needle: &str| text.lines().position(|l| l.starts_with(needle)).unwrap() + 1;
    let expect = [
        (line_of("unit = \"cm\""), "both `unit_pointer` and `unit`"),
        (line_of("unit_pointer"), "is not a JSON pointer"),
        (
            line_of("scope_column"),
            "both `scope_pointer` and `scope_column`",
        ),
    ];
    assert_found(&found, &expect);
}
