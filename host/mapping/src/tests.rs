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
        checked >= 8,
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

/// A complete mapping of `part` whose field `field` is made by `expr`.
fn with_expr(field: &str, expr: &str) -> String {
    format!(
        "{HEAD}{}\n[fields.{field}]\nexpr = '''{expr}'''\n",
        required_fields(&[field])
    )
}

#[test]
fn expressions_are_parsed_with_every_mistake_said_where() {
    for (expr, words) in [
        (
            r#"colum("名")"#,
            "unknown function `colum`; the functions: column,",
        ),
        (r#"column("名"#, "not closed"),
        (r#"column("名") column("x")"#, "left over"),
        (r#"column"#, "call it as `column(…)`"),
        (r#"{a: 1, a: 2}"#, "member `a` is given twice"),
        (r#"[1, 2"#, "expected `,` or `]`"),
        (r#""a\q""#, "unknown escape"),
    ] {
        let found = problems(&with_expr("name", expr));
        assert_eq!(found.len(), 1, "{expr}: {found:#?}");
        assert!(found[0].message.contains(words), "{expr}: {found:#?}");
        assert!(
            found[0].message.starts_with("the `expr` of field `name`"),
            "{found:#?}"
        );
    }
    let deep = format!("{}1{}", "[".repeat(40), "]".repeat(40));
    let found = problems(&with_expr("name", &deep));
    assert!(
        found[0].message.contains("nests deeper than 32"),
        "{found:#?}"
    );
    use crate::program::Expr;
    assert_eq!(
        crate::expr::parse(r#"{a: [1, -2.50, true, null,], 'b': it.x[3],}"#),
        Ok(Expr::Object(vec![
            (
                "a".into(),
                Expr::List(vec![
                    Expr::Number("1".into()),
                    Expr::Number("-2.50".into()),
                    Expr::Boolean(true),
                    Expr::Null,
                ])
            ),
            (
                "b".into(),
                Expr::Index {
                    of: Box::new(Expr::Member {
                        of: Box::new(Expr::It),
                        name: "x".into()
                    }),
                    index: 3
                }
            ),
        ]))
    );
}

#[test]
fn an_expressions_names_are_checked_against_the_pack_and_the_mapping() {
    for (field, expr, words) in [
        (
            "packaging",
            r#"code("packing", column("p"))"#,
            "has no table `packing`",
        ),
        (
            "packaging",
            r#"code("units", column("p"))"#,
            "is a unit-catalogue, not a code-list",
        ),
        (
            "packaging",
            r#"code(column("t"), column("p"))"#,
            "must name a code-list table",
        ),
        (
            "name",
            r#"field("colour")"#,
            "names no field made before `name`",
        ),
        ("name", r#"it"#, "`it` means the item of `each"),
        (
            "name",
            r#"scoped(column("a"), "x")"#,
            "is an input of `scheme(…)` only",
        ),
        (
            "name",
            r#"match(column("a"), '(')"#,
            "`match`: is not a regular expression",
        ),
        (
            "name",
            r#"match(column("a"), column("b"))"#,
            "must be written out as text",
        ),
        ("name", r#"concat()"#, "takes at least 1 argument(s), not 0"),
        ("name", r#"text(1, 2)"#, "takes 1 argument(s), not 2"),
        ("mass_g", r#"unit(column("m"), "furlong")"#, "furlong"),
        (
            "name",
            r#"date(column("d"), "%Q")"#,
            "not a strftime pattern",
        ),
        ("name", r#"pointer("Size")"#, "is not a JSON pointer"),
    ] {
        let text = with_expr(field, expr);
        let found = problems(&text);
        assert_eq!(found.len(), 1, "{expr}: {found:#?}");
        assert!(found[0].message.contains(words), "{expr}: {found:#?}");
        let line = text.lines().position(|l| l.starts_with("expr =")).unwrap() + 1;
        assert_eq!(found[0].line, line, "{expr}");
    }
    // A field made earlier in the file may be read.
    let text = format!(
        "{HEAD}{}\n[fields.name]\nexpr = 'concat(field(\"part_no\"), \" \", column(\"n\"))'\n",
        required_fields(&["name"])
    );
    assert_eq!(problems(&text), vec![]);
}

#[test]
fn a_program_has_every_table_and_kind_resolved_and_constants_as_written() {
    use crate::program::{Constant, Conversion, Expr, Function, Source, ValueKind};
    let text = format!(
        "{HEAD}{}\n[fields.tolerance_mm]\nconstant = 0.050\n\n[fields.name]\nexpr = 'date(column(\"d\"), \"%Y\")'\n",
        required_fields(&["tolerance_mm", "name"])
    );
    let mapping = MappingFile::parse("m.toml", &text).unwrap();
    let program = crate::compile(&mapping, &text, &regional()).unwrap();
    let field = |name: &str| program.fields.iter().find(|f| f.name == name).unwrap();
    // The pack's only time format, added as the last argument.
    assert_eq!(
        field("name").source,
        Source::Expr(Expr::Call {
            function: Function::Date,
            args: vec![
                Expr::Call {
                    function: Function::Column,
                    args: vec![Expr::Text("d".into())]
                },
                Expr::Text("%Y".into()),
                Expr::Text("time".into()),
            ]
        })
    );
    assert_eq!(
        field("tolerance_mm").source,
        Source::Constant(Constant::Number("0.050".into()))
    );
    // A code is text, whatever the schema holds; a quantity a decimal.
    assert_eq!(field("packaging").kind, ValueKind::Text);
    assert_eq!(
        field("packaging").conversion,
        Conversion::CodeList {
            table: "packaging".into(),
            scope: None
        }
    );
    assert_eq!(field("length_mm").kind, ValueKind::Decimal);
    assert_eq!(field("quantity_per_package").kind, ValueKind::Integer);
    // Every field of `part` is required: none is optional.
    assert!(program.fields.iter().all(|f| !f.optional));
    // The grading systems' refusal is a scope's, and is known as one.
    assert!(program
        .scope_refusals
        .contains(&"unknown-grading-system".to_string()));
    // The program crosses to the interpreter as JSON and back unchanged.
    assert_eq!(crate::Program::from_json(&program.to_json()), Ok(program));
}

#[test]
fn a_field_the_schema_does_not_require_is_optional_unless_the_mapping_says_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let pack_dir = dir.path().join("sample-regional");
    copy_dir(&root().join("standards/sample-regional"), &pack_dir);
    let schema = pack_dir.join("schemas/part.schema.json");
    let text = std::fs::read_to_string(&schema).unwrap();
    std::fs::write(
        &schema,
        text.replace("\"part_no\", \"name\",", "\"part_no\","),
    )
    .unwrap();
    let pack = Pack::load(&pack_dir).unwrap();
    let optional = |text: &str| -> Vec<String> {
        let mapping = MappingFile::parse("m.toml", text).unwrap();
        let program = crate::compile(&mapping, text, &pack).unwrap();
        program
            .fields
            .into_iter()
            .filter(|f| f.optional)
            .map(|f| f.name)
            .collect()
    };
    let text = format!("{HEAD}{}", required_fields(&[]));
    assert_eq!(optional(&text), ["name"]);
    let said = text.replace(
        "[fields.name]\ncolumn = \"name\"\n",
        "[fields.name]\ncolumn = \"name\"\noptional = false\n",
    );
    assert_eq!(optional(&said), Vec::<String>::new());
}

#[test]
fn a_type_a_table_cannot_give_is_refused() {
    let text = format!(
        "{HEAD}{}\n[fields.packaging]\ncolumn = \"p\"\ncode_list = \"packaging\"\ntype = \"decimal\"\n",
        required_fields(&["packaging"])
    );
    let line = text.lines().position(|l| l.starts_with("type =")).unwrap() + 1;
    assert_found(
        &problems(&text),
        &[(line, "`code_list` gives text, not decimal")],
    );
}

/// Copies a folder recursively.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn members_the_check_can_tell_are_missing_are_refused() {
    for (field, expr, words) in [
        (
            "name",
            r#"level("service-levels", column("s"), "SWIFT").levle"#,
            "`level(…)` has no member `levle`; its members: level, amount, scope",
        ),
        (
            "name",
            r#"column("a").x"#,
            "`column(…)` is one value, with no members",
        ),
        (
            "name",
            r#"split(column("a"), ",").x"#,
            "is a list, with no members",
        ),
        (
            "name",
            r#"{a: 1}.b"#,
            "the object written out has no member `b`",
        ),
        ("name", r#"column("a")[0]"#, "`[…]` takes an item of a list"),
        (
            "name",
            r#"scheme("apple-grade", scoped(column("g"), "sd-2019"), column("d")).parts[0].grade"#,
            "an item of `scheme(…).parts` has no member `grade`",
        ),
    ] {
        let found = problems(&with_expr(field, expr));
        assert_eq!(found.len(), 1, "{expr}: {found:#?}");
        assert!(found[0].message.contains(words), "{expr}: {found:#?}");
    }
    let fine = r#"concat(scheme("apple-grade", scoped(column("g"), "sd-2019"), column("d")).parts[0].scope, level("service-levels", column("s"), "SWIFT").level)"#;
    assert_eq!(problems(&with_expr("name", fine)), vec![]);
}

#[test]
fn an_expression_at_every_limit_still_crosses_to_the_interpreter() {
    // 32 levels deep: 30 calls around `column("a")` and its text (the
    // limit is 32 levels, members and items included).
    let deep = format!("{}column(\"a\"){}", "text(".repeat(30), ")".repeat(30));
    let text = with_expr("name", &deep);
    let mapping = MappingFile::parse("m.toml", &text).unwrap();
    let program = crate::compile(&mapping, &text, &regional()).unwrap();
    assert_eq!(crate::Program::from_json(&program.to_json()), Ok(program));
    // A chain of items counts: it cannot nest deeper than calls can.
    let chained = format!("split(column(\"a\"), \",\"){}", "[0]".repeat(40));
    let found = problems(&with_expr("name", &chained));
    assert!(
        found[0].message.contains("nests deeper than 32"),
        "{found:#?}"
    );
    // Numbers are written without spaces.
    for spaced in ["text(1. 5)", "text(- 5)", "text(.5)"] {
        let found = problems(&with_expr("name", spaced));
        assert_eq!(found.len(), 1, "{spaced}: {found:#?}");
    }
}
