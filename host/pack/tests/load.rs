//! Loading packs: the sample pack loads; a broken pack is an error that
//! names the file and the entry.

use std::path::{Path, PathBuf};

use conform_pack::{codes, Pack};

fn sample_pack() -> PathBuf {
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

#[test]
fn a_pack_of_format_2_is_read_and_refused_until_its_tables_are_served() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("schemas")).unwrap();
    std::fs::write(
        dir.path().join("schemas/part.schema.json"),
        r#"{"type":"object"}"#,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("pack.toml"),
        "id = \"parts-only\"\nversion = \"1.0.0\"\npublisher = \"sample\"\n[record_types]\npart = \"schemas/part.schema.json\"\n",
    )
    .unwrap();
    let errors = Pack::check(dir.path()).unwrap_err();
    let text = errors.iter().map(ToString::to_string).collect::<String>();
    assert!(text.contains("format 2"), "{text}");
    assert!(text.contains("publish it with `[rules]`"), "{text}");
}
