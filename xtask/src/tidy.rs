//! Project rules checked as tests (rust-analyzer's `tidy` idea): they run with every `cargo test`.

use std::fs;
use std::path::{Path, PathBuf};

use crate::root;

fn crate_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(root().join("crates"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("Cargo.toml").exists())
        .collect();
    dirs.sort();
    dirs
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The layering in ARCHITECTURE.md: which workspace crates each crate may depend on.
const ALLOWED_DEPENDENCIES: &[(&str, &[&str])] = &[
    // The rules (hub, group, roles, client protocol) live once, in protocol; auth uses them.
    ("webpubsub-auth", &["webpubsub-protocol"]),
    ("webpubsub-testkit", &[]),
    ("webpubsub-protocol", &[]),
    ("webpubsub-transport", &[]),
    (
        "webpubsub",
        &[
            "webpubsub-auth",
            "webpubsub-protocol",
            "webpubsub-transport",
        ],
    ),
    (
        "webpubsub-handler",
        &["webpubsub-auth", "webpubsub-protocol"],
    ),
    // The WebSocket client: the wire from protocol, token minting from auth; never the service
    // client (applications plug it in through a URL provider).
    (
        "webpubsub-client",
        &["webpubsub-auth", "webpubsub-protocol"],
    ),
    // The command-line tool: any crate (it is the top of the stack).
    (
        "webpubsub-cli",
        &[
            "webpubsub",
            "webpubsub-auth",
            "webpubsub-client",
            "webpubsub-emulator",
            "webpubsub-protocol",
            "webpubsub-transport",
        ],
    ),
    (
        "webpubsub-emulator",
        &[
            "webpubsub-auth",
            "webpubsub-protocol",
            "webpubsub-transport",
        ],
    ),
];

/// The `[dependencies]` section (not dev-dependencies) of a manifest.
fn normal_dependencies(manifest: &str) -> Vec<String> {
    let mut in_deps = false;
    let mut names = Vec::new();
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_deps = line == "[dependencies]";
            continue;
        }
        if in_deps {
            if let Some((name, _)) = line.split_once('=') {
                let name = name.trim().trim_end_matches(".workspace").trim();
                if !name.is_empty() && !name.starts_with('#') {
                    names.push(name.to_owned());
                }
            }
        }
    }
    names
}

#[test]
fn every_crate_has_readme_docs_changelog_and_workspace_lints() {
    for dir in crate_dirs() {
        let manifest = read(&dir.join("Cargo.toml"));
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        assert!(
            manifest.contains("[lints]\nworkspace = true"),
            "{name}: [lints] workspace = true"
        );
        assert!(
            manifest.contains("version.workspace = true"),
            "{name}: version from the workspace"
        );
        assert!(dir.join("README.md").exists(), "{name}: README.md");
        assert!(dir.join("CHANGELOG.md").exists(), "{name}: CHANGELOG.md");
        let lib = dir.join("src/lib.rs");
        if lib.exists() {
            assert!(
                read(&lib).starts_with("#![doc = include_str!(\"../README.md\")]"),
                "{name}: lib.rs starts with #![doc = include_str!(\"../README.md\")]"
            );
        }
    }
}

#[test]
fn crates_respect_the_layering() {
    for dir in crate_dirs() {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let allowed = ALLOWED_DEPENDENCIES
            .iter()
            .find(|(crate_name, _)| *crate_name == name)
            .unwrap_or_else(|| {
                panic!("{name} is missing from ALLOWED_DEPENDENCIES and ARCHITECTURE.md")
            })
            .1;
        for dependency in normal_dependencies(&read(&dir.join("Cargo.toml"))) {
            if dependency.starts_with("webpubsub") {
                assert!(
                    allowed.contains(&dependency.as_str()),
                    "{name} must not depend on {dependency} (see ARCHITECTURE.md)"
                );
            }
        }
    }
}

#[test]
fn third_party_versions_live_in_the_workspace_manifest() {
    for dir in crate_dirs()
        .into_iter()
        .chain([root().join("examples"), root().join("xtask")])
    {
        for line in read(&dir.join("Cargo.toml")).lines() {
            let line = line.trim();
            let is_dependency_with_version = line.contains("version = \"")
                && !line.starts_with("version")
                && !line.starts_with("rust-version");
            assert!(
                !is_dependency_with_version,
                "{}: `{line}`: put versions in [workspace.dependencies]",
                dir.display()
            );
        }
    }
}

#[test]
fn ci_runs_the_readme_test_command() {
    let readme = read(&root().join("README.md"));
    let ci = read(&root().join(".ci/run"));
    assert!(
        readme.contains("cargo xtask test"),
        "README names `cargo xtask test`"
    );
    assert!(
        ci.contains("cargo xtask test"),
        ".ci/run calls `cargo xtask test`"
    );
}

/// Every `.rs` file under the crates' `src/` folders, with its path.
fn sources() -> Vec<(PathBuf, String)> {
    fn walk(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
        for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push((path.clone(), read(&path)));
            }
        }
    }
    let mut out = Vec::new();
    for dir in crate_dirs() {
        walk(&dir.join("src"), &mut out);
    }
    out
}

#[test]
fn each_rule_has_one_home() {
    // The hub rule's character set, the role grammar's prefix and the subprotocol names are
    // written only in webpubsub-protocol.
    let facts = [
        "matches!(c, '_' | '`' | ',' | '.' | '[' | ']')",
        "\"webpubsub.joinLeaveGroups.\"",
        "\"json.reliable.webpubsub.azure.v1\"",
        "\"/clients/mqtt/hubs/\"",
    ];
    for (path, text) in sources() {
        let in_protocol = path
            .components()
            .any(|c| c.as_os_str() == "webpubsub-protocol");
        for fact in facts {
            assert!(
                in_protocol || !text.contains(fact),
                "{}: `{fact}` belongs to webpubsub-protocol only",
                path.display()
            );
        }
    }
}

#[test]
fn architecture_names_only_paths_that_exist() {
    let architecture = read(&root().join("ARCHITECTURE.md"));
    let mut checked = 0;
    // The crate a line is about: its first `crates/<name>...` path, or the last line's.
    let mut crate_dir: Option<String> = None;
    for line in architecture.lines() {
        let names: Vec<&str> = line.split('`').skip(1).step_by(2).collect();
        if let Some(dir) = names.iter().find(|n| n.starts_with("crates/")) {
            crate_dir = Some(dir.split('/').take(2).collect::<Vec<_>>().join("/"));
        }
        for name in names {
            let is_path = name.starts_with("crates/") || name.ends_with(".rs");
            if !is_path || name.contains(' ') || name.contains('*') {
                continue;
            }
            let name = name.trim_end_matches('/');
            let mut candidates = vec![root().join(name)];
            if let Some(dir) = &crate_dir {
                candidates.push(root().join(dir).join("src").join(name));
                candidates.push(root().join(dir).join(name));
            }
            assert!(
                candidates.iter().any(|c| c.exists()),
                "ARCHITECTURE.md names `{name}`, which does not exist"
            );
            checked += 1;
        }
    }
    assert!(checked > 30, "the map names its files ({checked} checked)");
}

#[test]
fn every_benchmark_is_in_benchmarks_md_and_none_in_a_crate_readme() {
    let benchmarks = read(&root().join("BENCHMARKS.md"));
    for dir in crate_dirs() {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        for entry in fs::read_dir(dir.join("benches"))
            .into_iter()
            .flatten()
            .flatten()
        {
            let path = entry.path();
            let Some(bench) = path.file_stem().map(|s| s.to_string_lossy().to_string()) else {
                continue;
            };
            let command = format!("cargo bench -p {name} --bench {bench}");
            assert!(
                benchmarks.contains(&command),
                "BENCHMARKS.md lacks `{command}`"
            );
        }
        // The crate READMEs are the docs.rs pages: they say what a user does.
        assert!(
            !read(&dir.join("README.md")).contains("cargo bench"),
            "{name}/README.md: benchmark figures belong in BENCHMARKS.md"
        );
    }
}
