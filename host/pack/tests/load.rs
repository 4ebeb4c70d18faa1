//! Loading packs: the sample pack loads; a broken pack is an error that
//! names the file and the entry.

use std::path::{Path, PathBuf};

use conform_pack::{codes, Pack};

/// The sample pack as published in format 1 (a frozen copy): the tests of
/// format-1 tables read it.
fn sample_pack() -> PathBuf {
    Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("cargo runs the tests"))
        .join("tests/fixtures/sample-regional-format1")
}

/// The sample pack as the repository ships it: format 2.
fn regional_pack() -> PathBuf {
    Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("cargo runs the tests"))
        .join("../../standards/sample-regional")
}

/// A copy of the sample pack with one file edited.
fn broken(file: &str, edit: impl Fn(String) -> String) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["", "schemas", "rules"] {
        std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        for entry in std::fs::read_dir(sample_pack().join(sub)).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_file() {
                std::fs::copy(entry.path(), dir.path().join(sub).join(entry.file_name())).unwrap();
            }
        }
    }
    let path = dir.path().join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, edit(text)).unwrap();
    let err = Pack::load(dir.path())
        .expect_err("the broken pack must not load")
        .to_string();
    (dir, err)
}

#[test]
fn the_sample_pack_loads() {
    let pack = Pack::load(sample_pack()).unwrap();
    assert_eq!(pack.manifest().id, "sample-regional");
    assert_eq!(
        pack.record_types().collect::<Vec<_>>(),
        ["part", "produce_lot", "shipment"]
    );
}

#[test]
fn a_schema_that_does_not_compile_names_file_and_record_type() {
    let (_dir, err) = broken("schemas/part.schema.json", |t| {
        t.replace("\"type\": \"object\"", "\"type\": 12")
    });
    assert!(
        err.contains("part.schema.json")
            && err.contains("record type `part`")
            && err.contains("does not compile"),
        "{err}"
    );
}

#[test]
fn an_unknown_unit_names_the_entry() {
    let (_dir, err) = broken("rules/units.toml", |t| {
        t.replace(
            "{ factor = \"0.5\", unit = \"kg\" }",
            "{ factor = \"0.5\", unit = \"catty\" }",
        )
    });
    assert!(
        err.contains("units.toml") && err.contains("units.斤") && err.contains("`catty`"),
        "{err}"
    );
}

#[test]
fn a_canonical_unit_for_a_field_the_schema_lacks_is_refused() {
    let (_dir, err) = broken("rules/units.toml", |t| {
        t.replace("mass_g = {", "weight_g = {")
    });
    assert!(
        err.contains("fields.part.weight_g") && err.contains("no field `weight_g`"),
        "{err}"
    );
}

#[test]
fn a_crosswalk_to_a_class_that_does_not_exist_is_refused() {
    let (_dir, err) = broken("rules/grading.toml", |t| {
        t.replace("\"U.S. Fancy\" = \"R2\"", "\"U.S. Fancy\" = \"A\"")
    });
    assert!(
        err.contains("grading.toml")
            && err.contains("systems.usda.crosswalk.U.S. Fancy")
            && err.contains("`A`"),
        "{err}"
    );
}

#[test]
fn a_carrier_promise_without_a_level_is_refused() {
    let (_dir, err) = broken("rules/service-levels.toml", |t| {
        t.replace("\"经济件\" = 120", "\"经济件\" = 96")
    });
    assert!(
        err.contains("carriers.EASTROUTE.经济件") && err.contains("96 h"),
        "{err}"
    );
}

#[test]
fn a_packaging_term_to_an_unknown_code_is_refused() {
    let (_dir, err) = broken("rules/packaging.toml", |t| {
        t.replace("\"bulk\" = \"NE\"", "\"bulk\" = \"ZZ\"")
    });
    assert!(err.contains("terms.bulk") && err.contains("`ZZ`"), "{err}");
}

#[test]
fn an_unknown_manifest_field_is_refused() {
    let (_dir, err) = broken("pack.toml", |t| {
        t.replace("publisher =", "publsher = \"x\"\npublisher =")
    });
    assert!(
        err.contains("pack.toml") && err.contains("unknown field `publsher`"),
        "{err}"
    );
}

#[test]
fn every_problem_of_a_pack_is_listed_not_only_the_first() {
    let (dir, _) = broken("rules/packaging.toml", |t| {
        t.replace("\"bulk\" = \"NE\"", "\"bulk\" = \"ZZ\"")
    });
    let schema = dir.path().join("schemas/part.schema.json");
    let text = std::fs::read_to_string(&schema).unwrap();
    std::fs::write(
        &schema,
        text.replace("\"type\": \"object\"", "\"type\": 12"),
    )
    .unwrap();
    let errors = Pack::check(dir.path()).expect_err("two problems");
    let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(messages.len(), 2, "{messages:#?}");
    assert!(messages[0].contains("part.schema.json"), "{messages:#?}");
    assert!(messages[1].contains("terms.bulk"), "{messages:#?}");
    let joined = Pack::load(dir.path()).unwrap_err().to_string();
    assert!(joined.starts_with("2 problems"), "{joined}");
}

#[test]
fn grading_takes_the_lower_class() {
    let pack = Pack::load(sample_pack()).unwrap();
    let std = pack.standard();
    let g = |system: &str, grade: &str, d: &str| std.grade(system, grade, d).map(|g| g.class);
    assert_eq!(g("sd-2019", "特级", "85.0").unwrap(), "R1");
    assert_eq!(
        g("sd-2019", "特级", "78.0").unwrap(),
        "R2",
        "size caps the class"
    );
    assert_eq!(
        g("sd-2019", "二级", "90").unwrap(),
        "R3",
        "grade caps the class"
    );
    assert_eq!(g("USDA", "U.S. Extra Fancy", "69.9").unwrap(), "OUT");
    assert_eq!(
        g("GB/T 10651", "优等品", "80").unwrap(),
        "R1",
        "a name of the system, threshold inclusive"
    );
    assert_eq!(
        std.grade("EU", "Class I", "80").unwrap_err().code,
        codes::UNKNOWN_GRADING_SYSTEM
    );
    assert_eq!(
        std.grade("sd-2019", "特等", "80").unwrap_err().code,
        codes::UNKNOWN_GRADE
    );
}

#[test]
fn service_levels_are_per_carrier() {
    let pack = Pack::load(sample_pack()).unwrap();
    let std = pack.standard();
    assert_eq!(
        std.service_level("SWIFT", "next-day").unwrap().level,
        "SL24"
    );
    assert_eq!(
        std.service_level("EASTROUTE", "次日达").unwrap().level,
        "SL48"
    );
    assert_eq!(
        std.service_level("SWIFT", "same-day").unwrap_err().code,
        codes::UNKNOWN_SERVICE_TERM
    );
    assert_eq!(
        std.service_level("NOBODY", "next-day").unwrap_err().code,
        codes::UNKNOWN_CARRIER
    );
    assert_eq!(std.package_code("纸箱").unwrap(), "CT");
    assert_eq!(std.package_code("Pallet").unwrap(), "PX");
    assert_eq!(
        std.package_code("麻袋").unwrap_err().code,
        codes::UNKNOWN_PACKAGE_TERM
    );
}

/// A format-2 pack in a temporary folder: `files` are (path, text), the
/// manifest's `[tables]` and `[contract]` come after a `part` record type.
fn format_2_pack(declared: &str, files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut all = vec![(
        "schemas/part.schema.json",
        r#"{"type":"object","properties":{"length_mm":{"type":"number"}}}"#,
    )];
    all.extend_from_slice(files);
    for (path, text) in all {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    std::fs::write(
        dir.path().join("pack.toml"),
        format!("id = \"parts-only\"\nversion = \"1.0.0\"\npublisher = \"sample\"\n[record_types]\npart = \"schemas/part.schema.json\"\n{declared}"),
    )
    .unwrap();
    dir
}

#[test]
fn a_pack_of_format_2_needs_no_table_and_serves_only_what_it_declares() {
    // No tables at all: a parts-only pack need not ship a grading table.
    let dir = format_2_pack("", &[]);
    let pack = Pack::load(dir.path()).unwrap();
    let refusal = pack.standard().grade("sd-2019", "一级", "80").unwrap_err();
    assert_eq!(refusal.code, codes::NOT_SERVED);
    assert!(refusal.message.contains("`grade`"), "{}", refusal.message);

    let dir = format_2_pack(
        "[tables]\nunits = { kind = \"unit-catalogue\", file = \"rules/units.toml\" }\nboxes = { kind = \"code-list\", file = \"rules/boxes.toml\" }\n[contract.\"0.1.0\"]\nto-canonical = \"units\"\npackage-code = \"boxes\"\n",
        &[
            ("rules/units.toml", "[units]\n\"英寸\" = { factor = \"1\", unit = \"in\" }\n[fields.part]\nlength_mm = { unit = \"mm\", decimals = 2 }\n"),
            ("rules/boxes.toml", "match = \"unicode-lowercase\"\ncode_is_term = true\n[codes]\nCT = \"carton\"\n[terms]\n\"纸箱\" = \"CT\"\n"),
        ],
    );
    let pack = Pack::load(dir.path()).unwrap();
    let std = pack.standard();
    assert_eq!(
        std.to_canonical("2", "英寸", "part", "length_mm").unwrap(),
        "50.80"
    );
    assert_eq!(std.package_code("纸箱").unwrap(), "CT");
    assert_eq!(std.package_code(" ct ").unwrap(), "CT");
    assert_eq!(
        std.parse_date("2026-11-02", "%Y-%m-%d").unwrap_err().code,
        codes::NOT_SERVED
    );
    assert!(std.tables().code_list("boxes").is_some());
}

#[test]
fn a_format_2_table_is_checked_against_the_tables_it_names() {
    let declared = "[tables]\nsizes = { kind = \"thresholds\", file = \"rules/sizes.toml\" }\ngrades = { kind = \"class-set\", file = \"rules/grades.toml\" }\nunits = { kind = \"unit-catalogue\", file = \"rules/units.toml\" }\n";
    let sizes = "classes = \"grades\"\ndirection = \"higher-is-better\"\nquantity = \"length\"\nbounds = [{ at_least = \"10\", class = \"A\" }]\notherwise = \"B\"\n";
    // A class the set lacks names the entry of the thresholds file.
    let dir = format_2_pack(
        declared,
        &[
            ("rules/sizes.toml", sizes),
            ("rules/grades.toml", "classes = [\"A\", \"C\"]\n"),
            (
                "rules/units.toml",
                "[fields.part]\nwidth_mm = { unit = \"mm\", decimals = 2 }\n",
            ),
        ],
    );
    let text: String = Pack::check(dir.path())
        .unwrap_err()
        .iter()
        .map(|e| format!("{e}\n"))
        .collect();
    assert!(
        text.contains("sizes.toml") && text.contains("otherwise") && text.contains("`B`"),
        "{text}"
    );
    // Each problem once: the unit catalogue's field is not in the schema.
    assert!(text.contains("fields.part.width_mm"), "{text}");
    assert_eq!(text.lines().count(), 2, "{text}");

    // A class set that does not parse is reported, and the thresholds
    // table that names it is not reported again.
    let dir = format_2_pack(
        declared,
        &[
            ("rules/sizes.toml", sizes),
            ("rules/grades.toml", "classes = \"A\"\n"),
            ("rules/units.toml", ""),
        ],
    );
    let errors = Pack::check(dir.path()).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].to_string().contains("grades.toml"),
        "{}",
        errors[0]
    );
}

#[test]
fn contract_0_1_0_grade_needs_a_scheme_of_a_crosswalk_then_a_quantity() {
    let dir = format_2_pack(
        "[tables]\ngrades = { kind = \"class-set\", file = \"g.toml\" }\nsizes = { kind = \"thresholds\", file = \"s.toml\" }\ngrade = { kind = \"scheme\", file = \"scheme.toml\" }\n[contract.\"0.1.0\"]\ngrade = \"grade\"\n",
        &[
            ("g.toml", "classes = [\"A\", \"B\"]\n"),
            ("s.toml", "classes = \"grades\"\ndirection = \"higher-is-better\"\nquantity = \"size\"\nbounds = [{ at_least = \"10\", class = \"A\" }]\notherwise = \"B\"\n"),
            ("scheme.toml", "classes = \"grades\"\ncombine = \"lowest\"\nparts = [\"sizes\"]\n"),
        ],
    );
    let err = Pack::load(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("contract.\"0.1.0\".grade") && err.contains("two parts"),
        "{err}"
    );
}

/// Every answer of a 0.1.0 function on both packs, as text: the value or
/// the refusal's code and message.
fn answers(pack: &Pack) -> Vec<String> {
    let std = pack.standard();
    let show = |r: Result<String, conform_pack::ServiceError>| match r {
        Ok(v) => format!("ok {v}"),
        Err(e) => format!("refused {} {}", e.code, e.message),
    };
    let mut out = Vec::new();
    let values = [
        "0", "2", "0.125", "1.005", "69.99", "70", "75", "80", "-1", "1,5", "", "1e3",
    ];
    let units = [
        "mm", "in", "英寸", "寸", "m", "斤", "两", "公斤", "kg", "g", "磅", "lb", "oz", "catty",
        " mm ",
    ];
    for record_type in ["part", "produce_lot", "shipment", "nothing"] {
        for field in [
            "length_mm",
            "mass_g",
            "net_weight_kg",
            "fruit_diameter_mm",
            "gross_weight_kg",
            "height_mm",
        ] {
            for value in values {
                for unit in units {
                    out.push(show(std.to_canonical(value, unit, record_type, field)));
                }
            }
        }
    }
    let systems = [
        "gb-t-10651",
        "GB/T 10651",
        "gb/t10651",
        "sd-2019",
        "SD-2019",
        "usda",
        "USDA",
        "jis",
        "",
        " usda ",
    ];
    let grades = [
        "优等品",
        "一等品",
        "二等品",
        "特级",
        "一级",
        "二级",
        "三级",
        "U.S. Extra Fancy",
        "u.s. fancy",
        "U.S. No. 1",
        "U.S. Utility",
        "R1",
        "",
        " 特级 ",
    ];
    for system in systems {
        for grade in grades {
            for diameter in ["85", "80", "79.9", "75", "70", "69", "x"] {
                out.push(show(
                    std.grade(system, grade, diameter)
                        .map(|g| format!("{} {}", g.class, g.system)),
                ));
            }
        }
    }
    for carrier in ["SWIFT", "swift", "EASTROUTE", "NOBODY", ""] {
        for term in [
            "next-day",
            "NEXT-DAY",
            "2-day",
            "3-day",
            "economy",
            "当日达",
            "次日达",
            "隔日达",
            "经济件",
            "same-day",
            " economy ",
        ] {
            out.push(show(
                std.service_level(carrier, term)
                    .map(|s| format!("{} {}", s.level, s.hours)),
            ));
        }
    }
    for term in [
        "纸箱",
        "carton",
        "CARTON",
        "CT",
        "ct",
        "box",
        "木箱",
        "塑料筐",
        "crate",
        "托盘",
        "pallet",
        "编织袋",
        "bag",
        "bulk",
        "NE",
        "麻袋",
        "",
        " 纸箱 ",
    ] {
        out.push(show(std.package_code(term)));
    }
    for (text, format) in [
        ("2026-11-02 08:30", "%Y-%m-%d %H:%M"),
        ("1764057600000", "unix-ms"),
        ("2026-02-30 08:30", "%Y-%m-%d %H:%M"),
        ("x", "%Q"),
    ] {
        out.push(show(std.parse_time(text, format)));
    }
    out.push(show(std.parse_date("2026年11月2日", "%Y年%m月%d日")));
    out.push(show(std.add_hours("2026-11-02T08:30:00+08:00", 48)));
    out
}

#[test]
fn format_1_and_format_2_serve_the_same() {
    let format_1 = Pack::load(sample_pack()).unwrap();
    let format_2 = Pack::load(regional_pack()).unwrap();
    assert!(!format_1.manifest().is_format_2());
    assert!(format_2.manifest().is_format_2());
    let (one, two) = (answers(&format_1), answers(&format_2));
    assert_eq!(one.len(), two.len());
    let refused = one.iter().filter(|a| a.starts_with("refused")).count();
    assert!(
        refused > 100 && refused < one.len() - 100,
        "both answers and refusals are compared"
    );
    for (a, b) in one.iter().zip(&two) {
        assert_eq!(a, b);
    }
}

/// The sample textile pack, as the repository ships it.
fn textile_pack() -> Pack {
    let dir = Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("cargo runs the tests"))
        .join("../../standards/sample-textile");
    Pack::load(dir).unwrap()
}

#[test]
fn the_textile_pack_converts_every_row_of_its_rounding_table() {
    let pack = textile_pack();
    let tables = pack.standard().tables();
    let units = tables.units("units").unwrap();
    for (value, unit, field, expected) in [
        ("24.05", "分/100m²", "points_per_100m2", "24.0"),
        ("148.65", "cm", "width_cm", "148.6"),
        ("85.125", "m", "length_m", "85.12"),
        ("260.35", "g/m²", "areal_density_gsm", "260.4"),
        ("48.04", "分/100m²", "points_per_100m2", "48.0"),
        ("57.5", "in", "width_cm", "146.0"),
        ("68.75", "yd", "length_m", "62.86"),
        ("20.108863008", "points/100yd2", "points_per_100m2", "24.0"),
        ("93.75", "yd", "length_m", "85.72"),
        ("40.14", "points/100yd2", "points_per_100m2", "48.0"),
        ("18.75", "yd", "length_m", "17.14"),
        ("43.75", "yd", "length_m", "40.00"),
    ] {
        let got = units
            .to_canonical(value, unit, "fabric_roll", field)
            .unwrap()
            .to_string();
        assert_eq!(got, expected, "{value} {unit}");
    }
    let wrong = units
        .to_canonical("8", "momme", "fabric_roll", "areal_density_gsm")
        .unwrap_err();
    assert_eq!(wrong.code, "unknown-unit");
    let wrong = units
        .to_canonical("3", "M", "fabric_roll", "length_m")
        .unwrap_err();
    assert_eq!(wrong.code, "unknown-unit", "unit symbols keep their case");
}

#[test]
fn the_textile_pack_finds_colours_in_the_standard_s_order() {
    let pack = textile_pack();
    let colours = pack.standard().tables().code_list("colours").unwrap();
    let zhangjiagang = Some("91320582MA1XK8T471");
    let jiangyin = Some("91320281MA20P6QE3H");
    let keqiao = Some("91330603MA2JW5R32G");
    let code = |term: &str, supplier: Option<&str>| colours.lookup(term, supplier).map(|m| m.code);
    // (1) a card code stands for itself, for any supplier.
    assert_eq!(code("SX-0305", zhangjiagang).unwrap(), "SX-0305");
    assert_eq!(code("sx-0305", keqiao).unwrap(), "SX-0305");
    // (2) a supplier's own code, for its rolls only.
    assert_eq!(code("NV-19", zhangjiagang).unwrap(), "SX-0203");
    assert_eq!(code("C-208", jiangyin).unwrap(), "SX-0203");
    let elsewhere = colours.lookup("NV-19", jiangyin).unwrap_err();
    assert_eq!(elsewhere.code, "unknown-colour");
    assert!(
        elsewhere.message.contains("91320281MA20P6QE3H"),
        "{}",
        elsewhere.message
    );
    // (3) a card name, trimmed (U+3000 too), ASCII case folded.
    assert_eq!(code("藏蓝", keqiao).unwrap(), "SX-0203");
    assert_eq!(code("Navy", keqiao).unwrap(), "SX-0203");
    assert_eq!(code("卡其\u{3000}", keqiao).unwrap(), "SX-0401");
    // (4) else rejected.
    assert_eq!(code("雾霾蓝", keqiao).unwrap_err().code, "unknown-colour");
    let fibres = pack.standard().tables().code_list("fibres").unwrap();
    assert_eq!(fibres.lookup("涤纶", None).unwrap().code, "PES");
    assert_eq!(fibres.lookup("t", None).unwrap().code, "PES");
    assert_eq!(fibres.lookup("SP", None).unwrap().code, "EL");
    assert_eq!(
        fibres.lookup("莫代尔", None).unwrap_err().code,
        "unknown-fibre"
    );
}

#[test]
fn the_textile_grade_is_the_lower_of_declared_and_measured() {
    use conform_pack::tables::scheme::Input;
    let pack = textile_pack();
    let grade = pack.standard().tables().scheme("grade").unwrap();
    let class = |system: &str, term: &str, points: &str| {
        grade
            .evaluate(&[
                Input {
                    term,
                    scope: Some(system),
                },
                Input {
                    term: points,
                    scope: None,
                },
            ])
            .map(|e| e.class)
            .map_err(|e| (e.input, e.error.code.into_owned()))
    };
    assert_eq!(class("cn-quality", "一等品", "24.05").unwrap(), "A");
    assert_eq!(class("cn-quality", "优等品", "48.04").unwrap(), "B");
    assert_eq!(class("cn-quality", "二等品", "50.0").unwrap(), "C");
    assert_eq!(class("cn-quality", "合格品", "80.0").unwrap(), "REJECT");
    assert_eq!(class("trade-quality", "1st Quality", "0").unwrap(), "A");
    assert_eq!(
        class("cn-quality", "特等品", "10").unwrap_err(),
        (Some(0), "unknown-grade".into())
    );
    assert_eq!(
        class("iso", "A", "10").unwrap_err(),
        (Some(0), "unknown-grading-system".into())
    );
}

#[test]
fn a_supplier_s_code_that_is_also_a_card_name_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let source = Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap())
        .join("../../standards/sample-textile");
    for sub in ["", "schemas", "rules"] {
        std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        for entry in std::fs::read_dir(source.join(sub)).unwrap().flatten() {
            if entry.file_type().unwrap().is_file() {
                std::fs::copy(entry.path(), dir.path().join(sub).join(entry.file_name())).unwrap();
            }
        }
    }
    let colours = dir.path().join("rules/colours.toml");
    let text = std::fs::read_to_string(&colours)
        .unwrap()
        .replace("\"C-101\" = \"SX-0201\"", "\"khaki\" = \"SX-0201\"");
    std::fs::write(&colours, text).unwrap();
    let err = Pack::load(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("colours.toml") && err.contains("khaki"),
        "{err}"
    );
}
