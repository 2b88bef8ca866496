//! `find`: the files under some paths that match names, types, sizes,
//! ages and contents, each described as `stat` describes it, in one
//! command on the host.

use drover_playbook::catalog::{
    ArgumentKind::{Bool, Integer, List, String as Text},
    ArgumentSpec as A,
};
use std::fmt::Write as _;

use drover_ssh::quote;
use serde_json::{Value as Json, json};

use super::Module;
use crate::arguments::Arguments;
use crate::{Error, ModuleContext, ModuleResult};

/// One entry as `stat -c` prints it, tab-separated.
const FORMAT: &str = "%n\t%f\t%s\t%i\t%d\t%h\t%X\t%Y\t%Z\t%u\t%g\t%U\t%G";

/// A name pattern, compiled once: a regular expression anchored at the
/// name's start (`use_regex`), or a shell glob. One that does not compile
/// keeps its error, for when a name is first matched against it, as
/// Ansible's module fails then.
enum NamePattern {
    Regex(regex::Regex),
    Glob(glob::Pattern),
    Invalid(String),
}

impl NamePattern {
    fn compile(pattern: &str, regex: bool) -> Self {
        let compiled = if regex {
            regex::Regex::new(&format!("^(?:{pattern})"))
                .map(Self::Regex)
                .map_err(|error| error.to_string())
        } else {
            glob::Pattern::new(pattern)
                .map(Self::Glob)
                .map_err(|error| error.to_string())
        };
        compiled.unwrap_or_else(|error| Self::Invalid(format!("`{pattern}`: {error}")))
    }

    fn matches(&self, name: &str) -> Result<bool, Error> {
        match self {
            Self::Regex(regex) => Ok(regex.is_match(name)),
            Self::Glob(glob) => Ok(glob.matches(name)),
            Self::Invalid(error) => Err(Error::Arguments(error.clone())),
        }
    }
}

/// What the task looks for.
struct Wanted {
    patterns: Vec<NamePattern>,
    excludes: Vec<NamePattern>,
    kind: String,
    hidden: bool,
    size: Option<(bool, u64)>,
    age: Option<(bool, u64)>,
}

impl Wanted {
    fn read(arguments: &Arguments<'_>) -> Result<Self, Error> {
        let regex = arguments.boolean("use_regex", false)?;
        let mut patterns = arguments.list("patterns")?;
        if patterns.is_empty() {
            patterns.push(if regex { ".*" } else { "*" }.to_owned());
        }
        let compile = |patterns: Vec<String>| {
            patterns
                .iter()
                .map(|pattern| NamePattern::compile(pattern, regex))
                .collect()
        };
        Ok(Self {
            patterns: compile(patterns),
            excludes: compile(arguments.list("excludes")?),
            kind: arguments
                .string("file_type")?
                .unwrap_or_else(|| "file".to_owned()),
            hidden: arguments.boolean("hidden", false)?,
            size: arguments
                .string("size")?
                .map(|size| threshold(&size, size_unit))
                .transpose()?,
            age: arguments
                .string("age")?
                .map(|age| threshold(&age, age_unit))
                .transpose()?,
        })
    }

    /// Whether `name` (a base name) matches one of `patterns`.
    fn matches(patterns: &[NamePattern], name: &str) -> Result<bool, Error> {
        for pattern in patterns {
            if pattern.matches(name)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn selects(&self, entry: &Json, name: &str, now: u64) -> Result<bool, Error> {
        let kind_matches = match self.kind.as_str() {
            "any" => true,
            "directory" => entry["isdir"] == true,
            "link" => entry["islnk"] == true,
            _ => entry["isreg"] == true,
        };
        if !kind_matches || (!self.hidden && name.starts_with('.')) {
            return Ok(false);
        }
        if let Some((at_most, limit)) = self.size {
            let size = entry["size"].as_u64().unwrap_or(0);
            if (at_most && size > limit) || (!at_most && size < limit) {
                return Ok(false);
            }
        }
        if let Some((at_most, limit)) = self.age {
            let age = now.saturating_sub(entry["mtime"].as_u64().unwrap_or(0));
            if (at_most && age > limit) || (!at_most && age < limit) {
                return Ok(false);
            }
        }
        Ok(Self::matches(&self.patterns, name)? && !Self::matches(&self.excludes, name)?)
    }
}

/// `10k`, `-1m`: at least (or, negative, at most) a number of units.
fn threshold(text: &str, unit: fn(char) -> Option<u64>) -> Result<(bool, u64), Error> {
    let (at_most, rest) = text
        .strip_prefix('-')
        .map_or((false, text), |rest| (true, rest));
    let (number, factor) = match rest.chars().last().and_then(unit) {
        Some(factor) => (&rest[..rest.len() - 1], factor),
        None => (rest, 1),
    };
    number
        .parse::<u64>()
        .map(|number| (at_most, number * factor))
        .map_err(|_| Error::Arguments(format!("`{text}` is not a size or an age")))
}

fn size_unit(unit: char) -> Option<u64> {
    let power = match unit.to_ascii_lowercase() {
        'b' => 0,
        'k' => 1,
        'm' => 2,
        'g' => 3,
        't' => 4,
        _ => return None,
    };
    Some(1024_u64.pow(power))
}

fn age_unit(unit: char) -> Option<u64> {
    match unit {
        's' => Some(1),
        'm' => Some(60),
        'h' => Some(3600),
        'd' => Some(86_400),
        'w' => Some(604_800),
        _ => None,
    }
}

/// A `stat -c FORMAT` line as the fields of Ansible's file entries.
fn entry(line: &str) -> Option<Json> {
    let fields: Vec<&str> = line.split('\t').collect();
    let [
        path,
        raw,
        size,
        inode,
        dev,
        nlink,
        atime,
        mtime,
        ctime,
        uid,
        gid,
        user,
        group,
    ] = fields[..]
    else {
        return None;
    };
    let mode = u32::from_str_radix(raw, 16).ok()?;
    let number = |text: &str| text.parse::<u64>().unwrap_or(0);
    let kind = mode & 0o170_000;
    let bit = |mask: u32| mode & mask != 0;
    Some(json!({
        "path": path, "mode": format!("{:04o}", mode & 0o7777),
        "isdir": kind == 0o040_000, "isreg": kind == 0o100_000, "islnk": kind == 0o120_000,
        "ischr": kind == 0o020_000, "isblk": kind == 0o060_000, "isfifo": kind == 0o010_000,
        "issock": kind == 0o140_000,
        "size": number(size), "inode": number(inode), "dev": number(dev), "nlink": number(nlink),
        "atime": number(atime), "mtime": number(mtime), "ctime": number(ctime),
        "uid": number(uid), "gid": number(gid), "pw_name": user, "gr_name": group,
        "rusr": bit(0o400), "wusr": bit(0o200), "xusr": bit(0o100),
        "rgrp": bit(0o040), "wgrp": bit(0o020), "xgrp": bit(0o010),
        "roth": bit(0o004), "woth": bit(0o002), "xoth": bit(0o001),
        "isuid": bit(0o4000), "isgid": bit(0o2000),
    }))
}

/// The command that lists every entry under `paths`, with the time on
/// the host first (ages count from it) and a line per missing path.
fn command(paths: &[String], arguments: &Arguments<'_>) -> Result<String, Error> {
    let depth = match (
        arguments.boolean("recurse", false)?,
        arguments.number("depth")?,
    ) {
        (false, _) => " -maxdepth 1".to_owned(),
        (true, Some(depth)) => format!(" -maxdepth {}", depth.max(1.0)),
        (true, None) => String::new(),
    };
    let follow = if arguments.boolean("follow", false)? {
        " -L"
    } else {
        ""
    };
    let mut script = String::from("date +%s; ");
    for path in paths {
        let path = quote(path);
        let _ = write!(
            script,
            "if [ -d {path} ]; then find{follow} {path} -mindepth 1{depth} -exec stat -c {} {{}} +; \
             else printf 'missing %s\\n' {path}; fi; ",
            quote(FORMAT)
        );
    }
    Ok(script)
}

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let paths = arguments.list("paths")?;
    let wanted = Wanted::read(arguments)?;
    let output = context.exec_read_only(&command(&paths, arguments)?).await?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let mut lines = text.lines();
    let now: u64 = lines.next().unwrap_or_default().trim().parse().unwrap_or(0);
    let (mut files, mut examined, mut skipped) = (Vec::new(), 0, serde_json::Map::new());
    for line in lines {
        if let Some(path) = line.strip_prefix("missing ") {
            let path = shlex::split(path)
                .and_then(|words| words.into_iter().next())
                .unwrap_or_default();
            let reason = format!(
                "{path} was skipped as it does not seem to be a valid directory or it cannot be accessed"
            );
            skipped.insert(path, json!(reason));
            continue;
        }
        let Some(found) = entry(line) else { continue };
        examined += 1;
        let path = found["path"].as_str().unwrap_or_default().to_owned();
        let name = path.rsplit('/').next().unwrap_or_default().to_owned();
        if wanted.selects(&found, &name, now)? {
            files.push(found);
        }
    }
    files = contains(files, arguments, context).await?;
    files.sort_by(|a, b| a["path"].as_str().cmp(&b["path"].as_str()));
    Ok(ModuleResult::ok()
        .with("matched", json!(files.len()))
        .with("examined", json!(examined))
        .with("skipped_paths", Json::Object(skipped))
        .with("files", Json::Array(files)))
}

/// With `contains`, only the regular files with a line that starts with a
/// match of it (as Python's `re.match` reads each line).
async fn contains(
    files: Vec<Json>,
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<Vec<Json>, Error> {
    let Some(pattern) = arguments.string("contains")? else {
        return Ok(files);
    };
    let candidates: Vec<&str> = files
        .iter()
        .filter(|file| file["isreg"] == true)
        .filter_map(|file| file["path"].as_str())
        .collect();
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    let quoted: Vec<String> = candidates.iter().map(|path| quote(path)).collect();
    let script = format!(
        "grep -lE -- {} {} 2>/dev/null; true",
        quote(&format!("^({pattern})")),
        quoted.join(" ")
    );
    let output = context.exec_read_only(&script).await?;
    let text = String::from_utf8_lossy(&output.stdout);
    let matching: Vec<&str> = text.lines().collect();
    Ok(files
        .into_iter()
        .filter(|file| {
            file["path"]
                .as_str()
                .is_some_and(|path| matching.contains(&path))
        })
        .collect())
}

const FIND: &[A] = &[
    A::new("paths", List).aliases(&["name", "path"]).required(),
    A::new("patterns", List).aliases(&["pattern"]),
    A::new("excludes", List).aliases(&["exclude"]),
    A::new("use_regex", Bool),
    A::new("file_type", Text).choices(&["file", "directory", "link", "any"]),
    A::new("recurse", Bool),
    A::new("depth", Integer),
    A::new("hidden", Bool),
    A::new("follow", Bool),
    A::new("size", Text),
    A::new("age", Text),
    A::new("age_stamp", Text).choices(&["atime", "ctime", "mtime"]),
    A::new("contains", Text),
    A::new("get_checksum", Bool),
    A::new("checksum_algorithm", Text),
    A::new("read_whole_file", Bool),
    A::new("encoding", Text),
    A::new("limit", Integer),
    A::new("mode", Text),
    A::new("exact_mode", Bool),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(&["find"], &[FIND], run)];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_ages_read_as_ansible_reads_them() {
        assert_eq!(threshold("10k", size_unit).unwrap(), (false, 10_240));
        assert_eq!(threshold("-1m", size_unit).unwrap(), (true, 1_048_576));
        assert_eq!(threshold("2d", age_unit).unwrap(), (false, 172_800));
        assert!(threshold("lots", size_unit).is_err());
    }

    #[test]
    fn stat_lines_become_file_entries() {
        let line = "/etc/hosts\t81a4\t12\t5\t2049\t1\t1\t2\t3\t0\t0\troot\troot";
        let found = entry(line).unwrap();
        assert_eq!(found["mode"], "0644");
        assert_eq!(found["isreg"], true);
        assert_eq!(found["roth"], true);
        assert_eq!(found["woth"], false);
    }
}
