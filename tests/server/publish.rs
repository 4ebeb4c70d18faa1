//! Publishing over HTTP against a real server: providers publish plugins,
//! publishers publish packs; every check answers with a JSON error; pack
//! versions live side by side and a plugin runs against the newest in its
//! range.

use crate::support::server::*;
use crate::support::*;
use serde_json::Value;

#[test]
fn a_published_plugin_is_checked_listed_kept_across_restarts_and_converts() {
    let server = server_with_publisher("");
    let (renamed, component) = plugin_variant("jinggong-parts", "jinggong-parts-acme", "1.2.0");

    // Only providers publish.
    let (status, body) = publish_plugin(&server, UPLOADER, &renamed, &component);
    assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")));

    let (status, body) = publish_plugin(&server, PROVIDER, &renamed, &component);
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["name"], "jinggong-parts-acme");
    assert_eq!(body["version"], "1.2.0");
    assert_eq!(body["runs_against"], "1.0.0");

    // Versions are immutable.
    let (status, body) = publish_plugin(&server, PROVIDER, &renamed, &component);
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("plugin-exists"))
    );

    let (status, text) = get(&server, "/v1/plugins/jinggong-parts-acme", UPLOADER);
    assert_eq!(status, 200, "{text}");
    let shown: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(shown["versions"], serde_json::json!(["1.2.0"]));
    assert_eq!(shown["sha256"], sha256_hex(&component));

    let file = std::fs::read(sample("jinggong-parts.csv")).unwrap();
    assert_eq!(
        converted_counts(&server, "jinggong-parts-acme", &file),
        (Some(6), Some(7))
    );

    // After a restart the published plugin is still there.
    let data = server.crash();
    let server = start_in(data, None);
    let (status, text) = get(&server, "/v1/plugins/jinggong-parts-acme", UPLOADER);
    assert_eq!(status, 200, "{text}");
}

#[test]
fn a_plugin_failing_a_check_is_refused_naming_the_check() {
    let server = server_with_publisher("");
    let (manifest, component) = built_plugin("jinggong-parts");
    let named =
        |name: &str| manifest.replace("name = \"jinggong-parts\"", &format!("name = \"{name}\""));

    // The component is not the one the manifest describes.
    let mut tampered = component.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    let (status, body) = publish_plugin(&server, PROVIDER, &named("tampered"), &tampered);
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("digest-mismatch")),
        "{body}"
    );
    assert_eq!(body["details"]["actual"], sha256_hex(&tampered));

    // A component importing WASI: refused, naming the import.
    let wasi = wat::parse_str("(component (import \"wasi:filesystem/preopens@0.2.0\" (instance)))")
        .unwrap();
    let wasi_manifest = named("reads-files").replace(&sha256_hex(&component), &sha256_hex(&wasi));
    let (status, body) = publish_plugin(&server, PROVIDER, &wasi_manifest, &wasi);
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("plugin-imports")),
        "{body}"
    );
    assert_eq!(body["details"]["import"], "wasi:filesystem/preopens@0.2.0");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("wasi:filesystem/preopens"));

    // A component that is not the converter world.
    let empty = wat::parse_str("(component)").unwrap();
    let empty_manifest =
        named("does-nothing").replace(&sha256_hex(&component), &sha256_hex(&empty));
    let (status, body) = publish_plugin(&server, PROVIDER, &empty_manifest, &empty);
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("plugin-world")),
        "{body}"
    );

    // No installed pack version in the plugin's range.
    let future = named("for-pack-three").replace("versions = \"^1.0\"", "versions = \"^3\"");
    let (status, body) = publish_plugin(&server, PROVIDER, &future, &component);
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("no-matching-pack")),
        "{body}"
    );
    assert_eq!(body["details"]["installed"], serde_json::json!(["1.0.0"]));

    // A record type the pack does not have.
    let odd = named("emits-invoices")
        .replace("record_types = [\"part\"]", "record_types = [\"invoice\"]");
    let (status, body) = publish_plugin(&server, PROVIDER, &odd, &component);
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("unknown-record-type")),
        "{body}"
    );

    // An invalid manifest, and parts missing.
    let (status, body) = publish_plugin(&server, PROVIDER, "name = \"x\"", &component);
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("bad-manifest")),
        "{body}"
    );
    let (content_type, only_manifest) = multipart(&[("manifest", None, manifest.as_bytes())]);
    let (status, text) = post_typed(
        &server,
        "/v1/plugins",
        PROVIDER,
        &content_type,
        &only_manifest,
    );
    assert_eq!((status, error_code(&text).as_str()), (400, "bad-multipart"));

    // None of them was stored; the server serves on.
    let (_, text) = get(&server, "/v1/plugins", UPLOADER);
    let listed: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        listed["plugins"].as_array().unwrap().len(),
        plugin_names(&plugins_dir()).len(),
        "{listed}"
    );
    let staged = server_data_entries(&server, "plugins/.staging");
    assert_eq!(staged, 0, "staging folders are cleaned up");
}

/// Entries in a folder of the server's data directory (0 if it is missing).
fn server_data_entries(server: &Server, sub: &str) -> usize {
    std::fs::read_dir(server.data_dir().join(sub)).map_or(0, |d| d.count())
}

/// The length of part JG-10024 (1.25 in) and the pack version used, by a
/// streaming conversion.
fn converted_length(server: &Server) -> (f64, String) {
    let file = std::fs::read(sample("jinggong-parts.csv")).unwrap();
    let (status, text) = convert(server, "jinggong-parts", &file);
    assert_eq!(status, 200, "{text}");
    let lines = ndjson(&text);
    let part = lines
        .iter()
        .find(|l| l["record"]["part_no"] == "JG-10024")
        .expect("part JG-10024 converts");
    let summary = &lines.last().unwrap()["summary"];
    (
        part["record"]["length_mm"].as_f64().unwrap(),
        summary["pack"]["version"].as_str().unwrap().to_string(),
    )
}

#[test]
fn pack_versions_coexist_and_plugins_use_the_newest_in_their_range() {
    let server = server_with_publisher("");
    assert_eq!(converted_length(&server), (31.75, "1.0.0".into()));

    // Only publishers publish packs.
    let (status, body) = publish_pack(&server, PROVIDER, &pack_version("1.1.0", 1));
    assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")));

    let (status, body) = publish_pack(&server, PUBLISHER, &pack_version("1.1.0", 1));
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        (body["id"].as_str(), body["version"].as_str()),
        (Some("sample-regional"), Some("1.1.0"))
    );
    // 31.75 rounded half to even at one decimal.
    assert_eq!(converted_length(&server), (31.8, "1.1.0".into()));

    // 2.0.0 is outside the plugin's `^1.0`: it stays on 1.1.0.
    let (status, body) = publish_pack(&server, PUBLISHER, &pack_version("2.0.0", 0));
    assert_eq!(status, 201, "{body}");
    assert_eq!(converted_length(&server), (31.8, "1.1.0".into()));

    let (status, body) = publish_pack(&server, PUBLISHER, &pack_version("1.1.0", 3));
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("pack-exists")),
        "{body}"
    );

    let (_, text) = get(&server, "/v1/packs", UPLOADER);
    let packs: Value = serde_json::from_str(&text).unwrap();
    let versions: Vec<&str> = packs["packs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["id"] == "sample-regional")
        .map(|p| p["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions, ["1.0.0", "1.1.0", "2.0.0"]);
    let (status, text) = get(&server, "/v1/packs/sample-regional/2.0.0", UPLOADER);
    assert_eq!(status, 200, "{text}");
    let (status, text) = get(&server, "/v1/packs/sample-regional/9.9.9", UPLOADER);
    assert_eq!((status, error_code(&text).as_str()), (404, "unknown-pack"));

    // A job records the pack version it was accepted against.
    let file = std::fs::read(sample("jinggong-parts.csv")).unwrap();
    let (status, text) = post(
        &server,
        "/v1/jobs?plugin=jinggong-parts",
        Some(UPLOADER),
        &file,
    );
    assert_eq!(status, 202, "{text}");
    let job: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(job["pack_version"], "1.1.0");

    // The versions survive a restart.
    let server = start_in(server.crash(), None);
    assert_eq!(converted_length(&server), (31.8, "1.1.0".into()));
}

#[test]
fn a_broken_pack_is_refused_with_every_problem_listed() {
    let server = server_with_publisher("[limits]\nmax_pack_unpacked_bytes = 1000000\n");
    let broken = pack_archive(|path, text| match path {
        "pack.toml" => text.replace("version = \"1.0.0\"", "version = \"1.5.0\""),
        "schemas/part.schema.json" => text.replace("\"type\": \"object\"", "\"type\": 12"),
        "rules/packaging.toml" => text.replace("\"bulk\" = \"NE\"", "\"bulk\" = \"ZZ\""),
        _ => text,
    });
    let (status, body) = publish_pack(&server, PUBLISHER, &broken);
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("pack-invalid")),
        "{body}"
    );
    let errors: Vec<&str> = body["details"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(
        errors[0].contains("schemas/part.schema.json"),
        "{errors:#?}"
    );
    assert!(
        errors[1].contains("rules/packaging.toml") && errors[1].contains("terms.bulk"),
        "{errors:#?}"
    );
    assert!(
        errors.iter().all(|e| !e.contains(".staging")),
        "messages name the archive's paths, not the server's: {errors:#?}"
    );

    // An entry escaping the folder.
    let mut tar = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(1);
    header.set_mode(0o644);
    header.as_old_mut().name[..14].copy_from_slice(b"../escape.toml");
    header.set_cksum();
    tar.append(&header, &b"x"[..]).unwrap();
    let (status, body) = publish_pack(&server, PUBLISHER, &gzip(&tar.into_inner().unwrap()));
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("bad-archive")),
        "{body}"
    );

    // A gzip bomb: 8 MB of zeros in a few KB, over the 1 MB unpacked limit.
    let mut tar = tar::Builder::new(Vec::new());
    let zeros = vec![0u8; 8 << 20];
    let mut header = tar::Header::new_gnu();
    header.set_size(zeros.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    tar.append_data(&mut header, "pack.toml", &zeros[..])
        .unwrap();
    let bomb = gzip(&tar.into_inner().unwrap());
    assert!(bomb.len() < 100_000);
    let (status, body) = publish_pack(&server, PUBLISHER, &bomb);
    assert_eq!(
        (status, body["code"].as_str()),
        (413, Some("archive-too-large")),
        "{body}"
    );

    // Not an archive at all.
    let (status, text) = post_typed(&server, "/v1/packs", PUBLISHER, "text/plain", b"hello");
    assert_eq!(
        (status, error_code(&text).as_str()),
        (415, "unsupported-media-type")
    );

    // Nothing was installed, nothing is left in staging, the server serves on.
    let (_, text) = get(&server, "/v1/packs", UPLOADER);
    let packs: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(packs["packs"].as_array().unwrap().len(), 2, "{packs}");
    assert_eq!(server_data_entries(&server, "packs/.staging"), 0);
    assert_eq!(converted_length(&server), (31.75, "1.0.0".into()));
}

/// Two plugins built from the same component are still two plugins: each
/// runs with its own name and limits.
#[test]
fn plugins_sharing_a_component_keep_their_own_name_and_limits() {
    let server = server_with_publisher("");
    let dir = test_plugins_dir().join("hostile");
    let manifest = std::fs::read_to_string(dir.join("plugin.toml")).unwrap();
    let component = std::fs::read(dir.join("hostile.wasm")).unwrap();
    let strict = manifest
        .replace("name = \"hostile\"", "name = \"hostile-strict\"")
        .replace("batch_millis = 300", "batch_millis = 100");
    assert_ne!(strict, manifest);
    for text in [&manifest, &strict] {
        let (status, body) = publish_plugin(&server, PROVIDER, text, &component);
        assert_eq!(status, 201, "{body}");
    }
    for (plugin, millis) in [("hostile", 300), ("hostile-strict", 100), ("hostile", 300)] {
        let (status, text) = convert(&server, plugin, &hostile_rows(&["ok", "loop"]));
        assert_eq!(status, 200, "{text}");
        let lines = ndjson(&text);
        let rejection = lines
            .iter()
            .find_map(|l| l.get("rejection"))
            .expect("the looping row is rejected");
        let message = rejection["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("plugin `{plugin}`"))
                && message.contains(&format!("{millis} ms")),
            "{plugin}: {message}"
        );
    }
}

#[test]
fn a_new_code_list_needs_no_host_change() {
    // sample-textile 1.1.0 adds a table (`finishes`) and a record type that
    // uses it; a plugin published beside it reads the table by name. The
    // host learns of neither: this is data, not a release.
    let server = server_with_publisher("");
    let (status, text) = put_json(
        &server,
        "/v1/packs/sample-textile/owner",
        ADMIN,
        r#"{"owner":"standards-office"}"#,
    );
    assert_eq!(status, 200, "{text}");
    let finishes = "match = \"ascii-case\"\n[codes]\nWR = { names = [\"防水\", \"water repellent\"] }\nAB = { names = [\"抗菌\", \"antibacterial\"] }\n[errors.unknown-term]\ncode = \"unknown-finish\"\nmessage = \"finish `{term}` is not one of the standard's finishes (known: {known})\"\n";
    let note = r#"{"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object", "additionalProperties": false, "required": ["roll_id", "finish"], "properties": {"roll_id": {"type": "string", "minLength": 1}, "finish": {"enum": ["WR", "AB"]}}}"#;
    let archive = pack_archive_of(
        "sample-textile",
        &[
            ("rules/finishes.toml", finishes),
            ("schemas/finish_note.schema.json", note),
        ],
        |file, text| {
            match file {
            "pack.toml" => text
                .replace("version = \"1.0.0\"", "version = \"1.1.0\"")
                .replace(
                    "[record_types]\n",
                    "[record_types]\nfinish_note = \"schemas/finish_note.schema.json\"\n",
                )
                .replace(
                    "[tables]\n",
                    "[tables]\nfinishes = { kind = \"code-list\", file = \"rules/finishes.toml\" }\n",
                ),
            _ => text,
        }
        },
    );
    let (status, body) = publish_pack(&server, PUBLISHER, &archive);
    assert_eq!(status, 201, "{body}");

    let (manifest, component) = built_plugin_in(&test_plugins_dir(), "textile-finishes");
    let (status, body) = publish_plugin(&server, PROVIDER, &manifest, &component);
    assert_eq!(status, 201, "{body}");

    let rows = "{\"roll\":\"KQ-1\",\"finish\":\"防水\"}\n{\"roll\":\"KQ-2\",\"finish\":\"Antibacterial\"}\n{\"roll\":\"KQ-3\",\"finish\":\"阻燃\"}\n";
    let (status, text) = convert(&server, "textile-finishes", rows.as_bytes());
    assert_eq!(status, 200, "{text}");
    let lines = ndjson(&text);
    let records: Vec<(&str, &str)> = lines
        .iter()
        .filter(|l| l["record_type"] == "finish_note")
        .map(|l| {
            (
                l["record"]["roll_id"].as_str().unwrap(),
                l["record"]["finish"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(records, [("KQ-1", "WR"), ("KQ-2", "AB")], "{text}");
    let summary = lines.iter().find_map(|l| l.get("summary")).unwrap();
    assert_eq!(summary["pack"]["version"], "1.1.0", "{text}");
    let rejected: Vec<&Value> = lines.iter().filter_map(|l| l.get("rejection")).collect();
    assert_eq!(rejected.len(), 1, "{text}");
    assert_eq!(
        (
            rejected[0]["line"].as_u64(),
            rejected[0]["code"].as_str(),
            rejected[0]["target"].as_str()
        ),
        (Some(3), Some("unknown-finish"), Some("/finish")),
        "{text}"
    );
}

/// The files of a tar.gz, by path, in the archive's order.
fn unpacked(archive: &[u8]) -> Vec<(String, Vec<u8>)> {
    use std::io::Read;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(archive));
    tar.entries()
        .unwrap()
        .map(|entry| {
            let mut entry = entry.unwrap();
            let path = entry.path().unwrap().to_string_lossy().into_owned();
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).unwrap();
            (path, bytes)
        })
        .collect()
}

#[test]
fn a_pack_version_is_fetched_as_an_archive_of_its_files() {
    let server = server_with_publisher("");
    // The seeded pack: every file of its folder, byte for byte.
    let (status, content_type, archive) =
        get_bytes(&server, "/v1/packs/sample-regional/1.0.0/archive", UPLOADER);
    assert_eq!((status, content_type.as_str()), (200, "application/gzip"));
    let files = unpacked(&archive);
    let source = root().join("standards/sample-regional");
    for name in [
        "pack.toml",
        "schemas/part.schema.json",
        "rules/units.toml",
        "README.md",
    ] {
        let (_, bytes) = files
            .iter()
            .find(|(path, _)| *path == format!("sample-regional-1.0.0/{name}"))
            .unwrap_or_else(|| {
                panic!(
                    "no {name} in {:?}",
                    files.iter().map(|f| &f.0).collect::<Vec<_>>()
                )
            });
        assert_eq!(bytes, &std::fs::read(source.join(name)).unwrap(), "{name}");
    }
    // The same pack gives the same bytes.
    let (_, _, again) = get_bytes(&server, "/v1/packs/sample-regional/1.0.0/archive", UPLOADER);
    assert_eq!(archive, again);

    // A published version comes back as published; its archive publishes
    // again elsewhere (the form POST /v1/packs takes).
    // A dotfile the publisher's archive carried is no part of the pack.
    let published =
        pack_archive_of(
            "sample-regional",
            &[(".env", "SECRET=1")],
            |path, text| match path {
                "pack.toml" => text.replace("version = \"1.0.0\"", "version = \"1.1.0\""),
                _ => text,
            },
        );
    let (status, body) = publish_pack(&server, PUBLISHER, &published);
    assert_eq!(status, 201, "{body}");
    let (status, _, archive) =
        get_bytes(&server, "/v1/packs/sample-regional/1.1.0/archive", UPLOADER);
    assert_eq!(status, 200);
    let files = unpacked(&archive);
    assert!(
        files.iter().all(|(path, _)| !path.contains(".env")),
        "{:?}",
        files.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    let manifest = files
        .into_iter()
        .find(|(path, _)| path == "sample-regional-1.1.0/pack.toml")
        .unwrap();
    assert!(String::from_utf8(manifest.1)
        .unwrap()
        .contains("version = \"1.1.0\""));
    let other = server_with_publisher("");
    let (status, body) = publish_pack(&other, PUBLISHER, &archive);
    assert_eq!(status, 201, "{body}");

    let (status, _, body) = get_bytes(&server, "/v1/packs/sample-regional/9.9.9/archive", UPLOADER);
    assert_eq!(
        (
            status,
            error_code(&String::from_utf8(body).unwrap()).as_str()
        ),
        (404, "unknown-pack")
    );
    let (status, _, _) = get_bytes(
        &server,
        "/v1/packs/sample-regional/1.0.0/archive",
        "no-such-token",
    );
    assert_eq!(status, 401);
}

#[test]
fn a_published_mapping_is_checked_owned_listed_and_converts_as_a_plugin() {
    let server = server_with_publisher("");
    let mapping = std::fs::read_to_string(root().join("mappings/jinggong-parts/mapping.toml"))
        .unwrap()
        .replace(
            "name = \"jinggong-parts-mapping\"",
            "name = \"jinggong-by-mapping\"",
        )
        .replace("version = \"0.1.0\"", "version = \"1.0.0\"");
    let publish = |token: &str, text: &str| {
        let (status, body) = post(&server, "/v1/mappings", Some(token), text.as_bytes());
        (status, serde_json::from_str::<Value>(&body).unwrap())
    };

    // Only providers publish; a version once.
    let (status, body) = publish(UPLOADER, &mapping);
    assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")));
    let (status, body) = publish(PROVIDER, &mapping);
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        (&body["name"], &body["mapping"], &body["runs_against"]),
        (&"jinggong-by-mapping".into(), &true.into(), &"1.0.0".into())
    );
    let (status, body) = publish(PROVIDER, &mapping);
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("plugin-exists"))
    );

    // A mapping's name is owned as a plugin's: the seeded plugins are the
    // operator's.
    let taken = mapping
        .replace(
            "name = \"jinggong-by-mapping\"",
            "name = \"jinggong-parts\"",
        )
        .replace("version = \"1.0.0\"", "version = \"9.0.0\"");
    let (status, body) = publish(PROVIDER, &taken);
    assert_eq!((status, body["code"].as_str()), (403, Some("plugin-owned")));

    // Every problem of a broken mapping, at its line; nothing stored.
    let broken = mapping
        .replace("version = \"1.0.0\"", "version = \"1.1.0\"")
        .replace("code_list = \"packaging\"", "code_list = \"packing\"");
    let (status, body) = publish(PROVIDER, &broken);
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("mapping-invalid")),
        "{body}"
    );
    let line = broken.lines().position(|l| l.contains("packing")).unwrap() + 1;
    assert!(
        body["details"]["errors"][0]
            .as_str()
            .is_some_and(|e| e.starts_with(&format!(
                "mapping.toml:{line}: pack `sample-regional` has no table `packing`"
            ))),
        "{body}"
    );
    let (_, text) = get(&server, "/v1/plugins/jinggong-by-mapping", UPLOADER);
    let shown: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(shown["versions"], serde_json::json!(["1.0.0"]));

    // It converts as its plugin does, streamed and as a job.
    let file = std::fs::read(sample("jinggong-parts.csv")).unwrap();
    let expected = std::fs::read_to_string(
        root().join("plugins/jinggong-parts/tests/cases/sample/expected.ndjson"),
    )
    .unwrap();
    assert_eq!(
        converted_counts(&server, "jinggong-by-mapping", &file),
        (Some(6), Some(7))
    );
    // Pinned as a plugin is, to its version and the pack's.
    let (status, text) = post(
        &server,
        "/v1/convert?plugin=jinggong-by-mapping@1.0.0&pack=sample-regional@1.0.0",
        Some(UPLOADER),
        &file,
    );
    assert_eq!(status, 200, "{text}");
    let (status, text) = post(
        &server,
        "/v1/convert?plugin=jinggong-by-mapping@1.1.0",
        Some(UPLOADER),
        &file,
    );
    assert_eq!((status, error_code(&text)), (404, "unknown-plugin".into()));
    let job = submit_job(
        &server,
        UPLOADER,
        "plugin=jinggong-by-mapping&name=jinggong-parts.csv",
        &file,
    );
    let id = job_id(&job);
    let done = wait_for(&server, &id, UPLOADER, |j| {
        j["state"] != "queued" && j["state"] != "running"
    });
    assert_eq!(done["state"], "done", "{done}");
    let (status, records) = get(&server, &format!("/v1/jobs/{id}/records"), UPLOADER);
    assert_eq!(status, 200, "{records}");
    assert_eq!(records, expected, "the job's records are the plugin's");

    // After a restart it is still there and runs.
    let data = server.crash();
    let server = start_in(data, None);
    assert_eq!(
        converted_counts(&server, "jinggong-by-mapping", &file),
        (Some(6), Some(7))
    );

    // A server without the interpreter runs the mappings published (each
    // keeps its copy) but takes no new one.
    let data = server.crash();
    let server = start_with_env(
        data,
        None,
        &[(
            "CONFORM_MAPPING_INTERPRETER",
            "/nonexistent/mapping-interpreter.wasm",
        )],
    );
    assert_eq!(
        converted_counts(&server, "jinggong-by-mapping", &file),
        (Some(6), Some(7))
    );
    let another = mapping.replace("version = \"1.0.0\"", "version = \"1.2.0\"");
    let (status, body) = post(&server, "/v1/mappings", Some(PROVIDER), another.as_bytes());
    assert_eq!(
        (status, error_code(&body)),
        (503, "mapping-unavailable".to_string())
    );
}
