//! The documentation that must not drift from the code: `docs/modules.md`
//! is generated from the module catalog (each argument's name, type,
//! whether it is required, its choices and aliases) and from the first line
//! of each module's source documentation; and every example in
//! `docs/guide.md` runs.
//!
//! `DROVER_UPDATE_DOCS=1 cargo test -p drover --test docs` rewrites
//! `docs/modules.md`. Regression tests for issue 7 (the user guide).
// A scenario test reads top to bottom as one story; the limit on function
// size is for the product's code and its test harness.
#![allow(clippy::too_many_lines)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use drover_modules::ModuleCatalog;
use drover_playbook::{ArgumentKind, Catalog as _};

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The first sentence of a module's `//!` documentation.
fn summary(module: &str) -> Option<String> {
    let path = repository().join(format!("crates/drover-modules/src/modules/{module}.rs"));
    let source = std::fs::read_to_string(path).ok()?;
    let doc: Vec<&str> = source
        .lines()
        .take_while(|line| line.starts_with("//!"))
        .map(|line| line.trim_start_matches("//!").trim())
        .take_while(|line| !line.is_empty())
        .collect();
    Some(doc.join(" "))
}

fn kind(kind: ArgumentKind) -> &'static str {
    match kind {
        ArgumentKind::String => "string",
        ArgumentKind::Bool => "boolean",
        ArgumentKind::Integer => "integer",
        ArgumentKind::List => "list",
        ArgumentKind::Dict => "mapping",
        ArgumentKind::Raw => "any",
    }
}

fn render() -> String {
    let catalog = ModuleCatalog;
    let mut names = catalog.names();
    names.sort_unstable();
    let mut text = String::from(
        "# Modules\n\n\
         Generated from the module catalog by `crates/drover/tests/docs.rs`; do not edit.\n\
         Every module checks the host first and changes only what differs; each\n\
         supports `--check` and, where it changes content, `--diff`.\n\n",
    );
    for name in &names {
        let _ = write!(text, "[`{name}`](#{name}) ");
    }
    text.push_str("\n\n");
    for name in names {
        let Some(spec) = catalog.module(name) else {
            continue;
        };
        let _ = writeln!(text, "## {name}\n");
        let base = catalog.implementation(name).unwrap_or(name);
        if base != name {
            let _ = writeln!(text, "Runs as [`{base}`](#{base}).\n");
        } else if let Some(summary) = summary(name) {
            let _ = writeln!(text, "{summary}\n");
        }
        if spec.free_form {
            text.push_str("Takes a free-form command line.\n\n");
        }
        if spec.any_arguments {
            text.push_str("Takes any arguments.\n\n");
            continue;
        }
        if spec.arguments.is_empty() {
            text.push_str("No arguments.\n\n");
            continue;
        }
        text.push_str(
            "| argument | type | required | choices | aliases |\n|---|---|---|---|---|\n",
        );
        for argument in &spec.arguments {
            let _ = writeln!(
                text,
                "| `{}` | {} | {} | {} | {} |",
                argument.name,
                kind(argument.kind),
                if argument.required { "yes" } else { "" },
                argument.choices.join(", "),
                argument.aliases.join(", ")
            );
        }
        text.push('\n');
    }
    text
}

#[test]
fn issue_7_the_modules_reference_is_generated_from_the_catalog() {
    let path = repository().join("docs/modules.md");
    let generated = render();
    if std::env::var_os("DROVER_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &generated).expect("docs/modules.md is written");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/modules.md is stale: run `DROVER_UPDATE_DOCS=1 cargo test -p drover --test docs`"
    );
}

/// Every fenced example in the guide that starts with `# run:` runs: a
/// playbook (`# run: play`) on this machine through the local connection,
/// an inventory (`# run: inventory`) listed, a command (`# run: sh`) run by
/// the shell, in a fresh directory holding the repository's examples.
#[test]
fn issue_7_every_example_in_the_guide_runs() {
    let guide = std::fs::read_to_string(repository().join("docs/guide.md")).expect("the guide");
    let mut examples = Vec::new();
    let mut block: Option<Vec<&str>> = None;
    for line in guide.lines() {
        match (&mut block, line.trim_start().starts_with("```")) {
            (None, true) => block = Some(Vec::new()),
            (Some(lines), true) => {
                if lines
                    .first()
                    .is_some_and(|first| first.starts_with("# run:"))
                {
                    examples.push(lines.join("\n") + "\n");
                }
                block = None;
            }
            (Some(lines), false) => lines.push(line),
            (None, false) => {}
        }
    }
    assert!(
        examples.len() >= 5,
        "the guide's runnable examples: {}",
        examples.len()
    );
    let binary = Path::new(env!("CARGO_BIN_EXE_drover"));
    for example in examples {
        let directory = tempfile::tempdir().expect("a directory");
        let status = copy_examples(directory.path());
        assert!(status, "the examples are copied");
        let kind = example
            .lines()
            .next()
            .unwrap_or_default()
            .trim_start_matches("# run:")
            .trim()
            .to_owned();
        let output = match kind.as_str() {
            "play" => {
                std::fs::write(directory.path().join("example.yml"), &example).expect("written");
                Command::new(binary)
                    .current_dir(directory.path())
                    .args(["play", "example.yml", "-i", "localhost,", "-e"])
                    .arg(format!(
                        "base_dir={}",
                        directory.path().join("out").display()
                    ))
                    .output()
            }
            "inventory" => {
                std::fs::write(directory.path().join("example.ini"), &example).expect("written");
                Command::new(binary)
                    .current_dir(directory.path())
                    .args(["inventory", "-i", "example.ini", "--list"])
                    .output()
            }
            "sh" => Command::new("sh")
                .current_dir(directory.path())
                .env(
                    "PATH",
                    format!(
                        "{}:{}",
                        binary.parent().expect("a directory").display(),
                        std::env::var("PATH").unwrap_or_default()
                    ),
                )
                .args(["-ec", &example])
                .output(),
            other => panic!("unknown example kind `{other}`"),
        }
        .expect("the example runs");
        assert!(
            output.status.success(),
            "this example failed:\n{example}\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// The repository's `playbooks/` and `inventory/`, for examples that use them.
fn copy_examples(directory: &Path) -> bool {
    Command::new("cp")
        .arg("-r")
        .arg(repository().join("playbooks"))
        .arg(repository().join("inventory"))
        .arg(directory)
        .status()
        .is_ok_and(|status| status.success())
}
