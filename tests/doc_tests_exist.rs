//! Every test that `docs/*.md` and `README.md` name exists.
//!
//! The convention a document follows to name a test, and that this test checks:
//!
//! 1. **`file::name`** in backticks, both sides lowercase snake_case, where `file` is the stem
//!    of a `.rs` file directly in `tests/` or `loom-tests/tests/`, or anywhere under `src/`:
//!    that file (any of them, if several share the stem) defines `fn name` or `mod name`. So
//!    `semantics::guard_held_across_collections` is a test in `tests/semantics.rs` and
//!    `handoff::get_racing_collect` a loom model in `loom-tests/tests/handoff.rs`. A path whose
//!    stem is no such file (`mem::forget`) is not a citation.
//! 2. **A bare `name`** in backticks, lowercase snake_case of at least three words, on a line
//!    that also cites a file by its path in backticks (`tests/faults.rs`,
//!    `src/cache/shard.rs`, `loom-tests/tests/handoff.rs`): one of those files defines it. A line that cites no path
//!    takes the paths in the heading of its section, if they are under a `tests/` directory
//!    (a table of tests under `## … tests/faults.rs`).
//!
//! Fenced code blocks are skipped. To cite a test elsewhere, use the first form.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

/// The directories whose `.rs` files a citation may name.
const SOURCE_DIRS: [&str; 3] = ["tests", "src", "loom-tests/tests"];

/// Whether citations may name files in subdirectories of `dir` (the crate's modules nest; the
/// test directories' subdirectories hold shared helpers, not tests).
fn nests(dir: &str) -> bool {
    dir == "src"
}

/// The `.rs` files in `dir`, and in its subdirectories if `nested`.
fn rs_files(dir: &Path, nested: bool, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("a source directory") {
        let path = entry.expect("a source directory").path();
        if path.is_dir() && nested {
            rs_files(&path, nested, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `stem` → the texts of the `.rs` files with that stem in `SOURCE_DIRS`.
fn sources() -> HashMap<String, Vec<String>> {
    let mut files: HashMap<String, Vec<String>> = HashMap::new();
    for dir in SOURCE_DIRS {
        let mut paths = Vec::new();
        rs_files(&root().join(dir), nests(dir), &mut paths);
        for path in paths {
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            files
                .entry(stem)
                .or_default()
                .push(fs::read_to_string(&path).expect("a source file"));
        }
    }
    files
}

/// The documents checked: `docs/*.md` and `README.md`.
fn documents() -> Vec<PathBuf> {
    let mut docs: Vec<PathBuf> = fs::read_dir(root().join("docs"))
        .expect("docs/")
        .map(|e| e.expect("docs/").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    docs.push(root().join("README.md"));
    docs
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn is_snake(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Whether `text` defines `fn name` or `mod name`.
fn defines(text: &str, name: &str) -> bool {
    ["fn ", "mod "].iter().any(|keyword| {
        let needle = format!("{keyword}{name}");
        text.match_indices(&needle).any(|(at, _)| {
            let before = text[..at].chars().next_back();
            let after = text[at + needle.len()..].chars().next();
            !before.is_some_and(is_ident_char) && !after.is_some_and(is_ident_char)
        })
    })
}

/// A path in backticks to a `.rs` file in one of `SOURCE_DIRS`.
fn is_source_path(span: &str) -> bool {
    span.ends_with(".rs")
        && !span.contains(char::is_whitespace)
        && SOURCE_DIRS.iter().any(|dir| {
            span.strip_prefix(dir)
                .and_then(|rest| rest.strip_prefix('/'))
                .is_some_and(|file| nests(dir) || !file.contains('/'))
        })
}

/// The stem of a source path (`tests/faults.rs` → `faults`).
fn stem_of(path: &str) -> String {
    Path::new(path)
        .file_stem()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// The inline code spans of each line outside fenced blocks, as `(line index, spans)`, each
/// span trimmed. A span left open at the end of a line continues on the next (a wrapped
/// paragraph) and belongs to the line it starts on.
fn code_spans(text: &str) -> Vec<(usize, Vec<String>)> {
    let mut lines: Vec<(usize, Vec<String>)> = Vec::new();
    let mut fenced = false;
    let mut open: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        lines.push((i, Vec::new()));
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        for c in line.chars() {
            match (c, open.as_mut()) {
                ('`', Some(_)) => {
                    let (start, span) = open.take().unwrap();
                    lines[start].1.push(span.trim().to_owned());
                }
                ('`', None) => open = Some((i, String::new())),
                (c, Some((_, span))) => span.push(c),
                (_, None) => {}
            }
        }
        if let Some((_, span)) = open.as_mut() {
            span.push(' ');
        }
    }
    lines
}

#[test]
fn every_test_a_document_names_exists() {
    let files = sources();
    let mut checked = 0;
    let mut missing = Vec::new();
    for doc in documents() {
        let text = fs::read_to_string(&doc).expect("a document");
        let name = doc.strip_prefix(root()).unwrap().display().to_string();
        let mut heading_paths: Vec<String> = Vec::new();
        let line_texts: Vec<&str> = text.lines().collect();
        for (line, spans) in code_spans(&text) {
            let paths: Vec<String> = spans
                .iter()
                .filter(|s| is_source_path(s))
                .cloned()
                .collect();
            if line_texts[line].starts_with('#') {
                heading_paths = paths
                    .iter()
                    .filter(|p| p.starts_with("tests/") || p.starts_with("loom-tests/tests/"))
                    .cloned()
                    .collect();
                continue;
            }
            let context = if paths.is_empty() {
                &heading_paths
            } else {
                &paths
            };
            for span in &spans {
                let (stems, test) = match span.split_once("::") {
                    Some((stem, test))
                        if is_snake(stem) && is_snake(test) && files.contains_key(stem) =>
                    {
                        (vec![stem.to_owned()], test)
                    }
                    Some(_) => continue,
                    None if is_snake(span)
                        && span.split('_').filter(|w| !w.is_empty()).count() >= 3
                        && !context.is_empty() =>
                    {
                        (context.iter().map(|p| stem_of(p)).collect(), span.as_str())
                    }
                    None => continue,
                };
                checked += 1;
                let found = stems.iter().any(|stem| {
                    files
                        .get(stem)
                        .is_some_and(|texts| texts.iter().any(|t| defines(t, test)))
                });
                if !found {
                    missing.push(format!("{name}:{}: `{span}`", line + 1));
                }
            }
        }
    }
    println!("{checked} test citations checked");
    // The documents name well over a hundred tests: far fewer means the scan broke.
    assert!(checked >= 100, "only {checked} citations found");
    assert!(
        missing.is_empty(),
        "{} cited test(s) not found:\n{}",
        missing.len(),
        missing.join("\n")
    );
}

#[test]
fn the_scanner_reads_both_forms() {
    let doc = "## Faults: `tests/faults.rs`\n\
               | `no_lock_is_poisoned` | x |\n\
               See `semantics::guard_held_across_collections` and `mem::forget`.\n\
               A wrapped `semantics::held_object_is_not_handed_out_again\n\
               ` span.\n\
               ```text\n`not::a_citation`\n```\n";
    let spans: Vec<String> = code_spans(doc).into_iter().flat_map(|(_, s)| s).collect();
    assert_eq!(
        spans,
        [
            "tests/faults.rs",
            "no_lock_is_poisoned",
            "semantics::guard_held_across_collections",
            "mem::forget",
            "semantics::held_object_is_not_handed_out_again",
        ]
    );
    assert!(is_source_path("loom-tests/tests/stash.rs"));
    assert!(!is_source_path("tests/common/mod.rs"));
    assert!(defines("fn a_b_c() {}", "a_b_c"));
    assert!(!defines("fn a_b_cd() {}", "a_b_c"));
    assert!(defines("mod tests {", "tests"));
}
