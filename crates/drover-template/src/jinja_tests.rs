//! Ansible's Jinja tests: task results, versions and regexes.
// minijinja hands filter, test and function arguments over by value.
#![allow(clippy::needless_pass_by_value)]

use std::cmp::Ordering;

use minijinja::{Environment, Error, ErrorKind, Value};

/// Adds the tests to `environment`.
pub(crate) fn register(environment: &mut Environment<'static>) {
    for name in ["succeeded", "success", "successful"] {
        environment.add_test(name, |result: Value| !flag(&result, "failed"));
    }
    for name in ["failed", "failure"] {
        environment.add_test(name, |result: Value| flag(&result, "failed"));
    }
    for name in ["changed", "change"] {
        environment.add_test(name, |result: Value| flag(&result, "changed"));
    }
    for name in ["skipped", "skip"] {
        environment.add_test(name, |result: Value| flag(&result, "skipped"));
    }
    environment.add_test("version", version);
    environment.add_test("version_compare", version);
    environment.add_test("match", |value: String, pattern: String| {
        regex::Regex::new(&format!("^(?:{pattern})")).is_ok_and(|regex| regex.is_match(&value))
    });
    environment.add_test("search", |value: String, pattern: String| {
        regex::Regex::new(&pattern).is_ok_and(|regex| regex.is_match(&value))
    });
    environment.add_test("regex", |value: String, pattern: String| {
        regex::Regex::new(&pattern).is_ok_and(|regex| regex.is_match(&value))
    });
    environment.add_test("truthy", |value: Value| value.is_true());
    environment.add_test("falsy", |value: Value| !value.is_true());
    environment.add_test("exists", |path: String| {
        std::path::Path::new(&path).exists()
    });
    environment.add_test("file", |path: String| std::path::Path::new(&path).is_file());
    environment.add_test("directory", |path: String| {
        std::path::Path::new(&path).is_dir()
    });
}

fn flag(result: &Value, name: &str) -> bool {
    result
        .get_attr(name)
        .is_ok_and(|value| !value.is_undefined() && value.is_true())
}

/// `x is version('1.2', '>=')`: compares dotted versions, numbers numerically.
fn version(value: Value, other: Value, operator: Option<String>) -> Result<bool, Error> {
    let ordering = compare_versions(&value.to_string(), &other.to_string());
    Ok(match operator.as_deref().unwrap_or("eq") {
        "<" | "lt" => ordering == Ordering::Less,
        "<=" | "le" => ordering != Ordering::Greater,
        ">" | "gt" => ordering == Ordering::Greater,
        ">=" | "ge" => ordering != Ordering::Less,
        "==" | "=" | "eq" => ordering == Ordering::Equal,
        "!=" | "<>" | "ne" => ordering != Ordering::Equal,
        other => {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("`{other}` is not a version comparison"),
            ));
        }
    })
}

fn compare_versions(left: &str, right: &str) -> Ordering {
    let parts = |text: &str| -> Vec<String> {
        text.split(['.', '-', '_', '+'])
            .filter(|part| !part.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let (left, right) = (parts(left), parts(right));
    for index in 0..left.len().max(right.len()) {
        let (a, b) = (left.get(index), right.get(index));
        let ordering = match (a, b) {
            (Some(a), Some(b)) => match (a.parse::<u64>(), b.parse::<u64>()) {
                (Ok(a), Ok(b)) => a.cmp(&b),
                _ => a.cmp(b),
            },
            (Some(a), None) => {
                if a.parse::<u64>().is_ok_and(|n| n == 0) {
                    Ordering::Equal
                } else {
                    Ordering::Greater
                }
            }
            (None, Some(b)) => {
                if b.parse::<u64>().is_ok_and(|n| n == 0) {
                    Ordering::Equal
                } else {
                    Ordering::Less
                }
            }
            (None, None) => Ordering::Equal,
        };
        if ordering != Ordering::Equal {
            return ordering;
        }
    }
    Ordering::Equal
}
