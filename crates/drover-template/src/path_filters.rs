//! Ansible's path filters that work on this machine's paths: `relpath`,
//! `realpath`, `expanduser` and `splitext` (`basename` and `dirname` are
//! with the other filters).

use std::path::{Component, Path, PathBuf};

use minijinja::Environment;

pub(crate) fn register(environment: &mut Environment<'static>) {
    environment.add_filter("relpath", |path: String, start: Option<String>| {
        relative(&path, start.as_deref().unwrap_or("."))
    });
    environment.add_filter("realpath", |path: String| {
        std::fs::canonicalize(&path).map_or_else(
            |_| normalized(&absolute(&path)),
            |real| real.display().to_string(),
        )
    });
    environment.add_filter("expanduser", |path: String| expand_user(&path));
    environment.add_filter("splitext", |path: String| {
        let name_start = path.rfind('/').map_or(0, |at| at + 1);
        match path[name_start..].rfind('.') {
            // A leading dot names a hidden file; it is no extension.
            Some(dot) if dot > 0 && !path[name_start..][..dot].chars().all(|c| c == '.') => {
                let at = name_start + dot;
                vec![path[..at].to_owned(), path[at..].to_owned()]
            }
            _ => vec![path, String::new()],
        }
    });
}

fn expand_user(path: &str) -> String {
    match (path.strip_prefix('~'), std::env::var("HOME")) {
        (Some(rest), Ok(home)) if rest.is_empty() || rest.starts_with('/') => {
            format!("{home}{rest}")
        }
        _ => path.to_owned(),
    }
}

fn absolute(path: &str) -> PathBuf {
    let path = Path::new(path);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    }
}

/// `.` and `..` resolved without touching the file system.
fn normalized(path: &Path) -> String {
    format!("/{}", components(path).join("/"))
}

fn components(path: &Path) -> Vec<String> {
    let mut parts: Vec<String> = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
            Component::ParentDir => {
                parts.pop();
            }
            _ => {}
        }
    }
    parts
}

/// Python's `os.path.relpath`: `path` as seen from `start`.
fn relative(path: &str, start: &str) -> String {
    let (path, start) = (components(&absolute(path)), components(&absolute(start)));
    let common = path.iter().zip(&start).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".to_owned(); start.len() - common];
    parts.extend(path[common..].iter().cloned());
    if parts.is_empty() {
        ".".to_owned()
    } else {
        parts.join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::relative;

    #[test]
    fn relative_paths_as_python_computes_them() {
        assert_eq!(relative("/a/b/c", "/a"), "b/c");
        assert_eq!(relative("/a/b", "/a/c/d"), "../../b");
        assert_eq!(relative("/a", "/a"), ".");
    }
}
