//! Ansible's filters, on top of minijinja's built-in ones.
// minijinja hands filter, test and function arguments over by value.
#![allow(clippy::needless_pass_by_value)]

use std::path::Path;

use base64::Engine as _;
use minijinja::value::{Kwargs, Rest, ValueKind};
use minijinja::{Environment, Error, ErrorKind, Value};
use regex::{Regex, RegexBuilder};
use serde_json::Value as Json;

/// Adds the filters to `environment`.
pub(crate) fn register(environment: &mut Environment<'static>) {
    environment.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
    environment.add_filter("default", default);
    environment.add_filter("d", default);
    environment.add_filter("bool", to_bool);
    environment.add_filter("int", to_int);
    environment.add_filter("float", to_float);
    environment.add_filter("string", to_string);
    environment.add_filter("to_json", to_json);
    environment.add_filter("to_nice_json", to_nice_json);
    environment.add_filter("from_json", from_json);
    environment.add_filter("to_yaml", to_yaml);
    environment.add_filter("to_nice_yaml", to_yaml);
    environment.add_filter("from_yaml", from_yaml);
    environment.add_filter("combine", combine);
    environment.add_filter("dict2items", dict2items);
    environment.add_filter("items2dict", items2dict);
    environment.add_filter("ternary", ternary);
    environment.add_filter("mandatory", mandatory);
    environment.add_filter("b64encode", b64encode);
    environment.add_filter("b64decode", b64decode);
    environment.add_filter("hash", hash);
    environment.add_filter("checksum", |value: String| {
        hash(value, Some("sha1".to_owned()))
    });
    environment.add_filter("password_hash", password_hash);
    environment.add_filter("basename", |path: String| {
        Path::new(&path)
            .file_name()
            .map_or_else(String::new, |name| name.to_string_lossy().into_owned())
    });
    environment.add_filter("dirname", |path: String| match path.rfind('/') {
        Some(0) => "/".to_owned(),
        Some(index) => path[..index].to_owned(),
        None => String::new(),
    });
    environment.add_filter("quote", |text: String| crate_quote(&text));
    environment.add_filter("union", union);
    environment.add_filter("intersect", intersect);
    environment.add_filter("difference", difference);
    environment.add_filter("symmetric_difference", symmetric_difference);
    environment.add_filter("flatten", flatten);
    environment.add_filter("zip", zip);
    environment.add_filter("regex_replace", regex_replace);
    environment.add_filter("regex_search", regex_search);
    environment.add_filter("regex_findall", regex_findall);
    environment.add_filter("regex_escape", |text: String| regex::escape(&text));
    environment.add_filter("type_debug", type_debug);
}

fn json(value: &Value) -> Result<Json, Error> {
    crate::to_json(value)
}

fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, message.into())
}

fn crate_quote(text: &str) -> String {
    shlex::try_quote(text).map_or_else(|_| "''".to_owned(), std::borrow::Cow::into_owned)
}

/// `default(value, default='', boolean=false)`: replaces undefined values,
/// and with `boolean=true` falsy ones too.
fn default(value: Value, fallback: Option<Value>, boolean: Option<bool>) -> Value {
    let replace = value.is_undefined() || (boolean.unwrap_or(false) && !value.is_true());
    if replace {
        fallback.unwrap_or_else(|| Value::from(""))
    } else {
        value
    }
}

/// Ansible's `bool`: `yes`, `on`, `true`, `1` (any case) and 1 are true.
fn to_bool(value: Value) -> bool {
    match value.kind() {
        ValueKind::Bool => value.is_true(),
        ValueKind::Number => value.as_i64().is_some_and(|number| number == 1),
        _ => value.as_str().is_some_and(|text| {
            matches!(
                text.trim().to_ascii_lowercase().as_str(),
                "yes" | "on" | "1" | "true" | "y" | "t"
            )
        }),
    }
}

fn to_int(value: Value, fallback: Option<i64>, base: Option<u32>) -> i64 {
    let fallback = fallback.unwrap_or(0);
    if let Some(number) = value.as_i64() {
        return number;
    }
    if let Ok(Json::Number(number)) = json(&value) {
        #[allow(clippy::cast_possible_truncation)]
        return number
            .as_f64()
            .map_or(fallback, |float| float.trunc() as i64);
    }
    let Some(text) = value.as_str() else {
        return i64::from(value.is_true());
    };
    let text = text.trim();
    match base {
        Some(base) => {
            let digits = text
                .trim_start_matches("0x")
                .trim_start_matches("0o")
                .trim_start_matches("0b");
            i64::from_str_radix(digits, base).unwrap_or(fallback)
        }
        None => text
            .parse::<i64>()
            .ok()
            .or_else(|| {
                #[allow(clippy::cast_possible_truncation)]
                text.parse::<f64>().ok().map(|float| float.trunc() as i64)
            })
            .unwrap_or(fallback),
    }
}

fn to_float(value: Value, fallback: Option<f64>) -> f64 {
    let fallback = fallback.unwrap_or(0.0);
    match json(&value) {
        Ok(Json::Number(number)) => number.as_f64().unwrap_or(fallback),
        Ok(Json::String(text)) => text.trim().parse().unwrap_or(fallback),
        Ok(Json::Bool(flag)) => f64::from(u8::from(flag)),
        _ => fallback,
    }
}

fn to_string(value: Value) -> String {
    match value.as_str() {
        Some(text) => text.to_owned(),
        None => value.to_string(),
    }
}

/// Ansible's `to_json` is Python's `json.dumps`, separators and all.
fn to_json(value: Value) -> Result<String, Error> {
    Ok(crate::python_json(&json(&value)?))
}

fn to_nice_json(value: Value, kwargs: Kwargs) -> Result<String, Error> {
    let indent: Option<usize> = kwargs.get("indent")?;
    kwargs.assert_all_used()?;
    let indent = " ".repeat(indent.unwrap_or(4));
    let mut output = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(indent.as_bytes());
    let mut serializer = serde_json::Serializer::with_formatter(&mut output, formatter);
    serde::Serialize::serialize(&sort_keys(&json(&value)?), &mut serializer)
        .map_err(|error| invalid(error.to_string()))?;
    Ok(String::from_utf8_lossy(&output).into_owned())
}

fn sort_keys(value: &Json) -> Json {
    match value {
        Json::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            Json::Object(
                entries
                    .into_iter()
                    .map(|(key, value)| (key.clone(), sort_keys(value)))
                    .collect(),
            )
        }
        Json::Array(items) => Json::Array(items.iter().map(sort_keys).collect()),
        other => other.clone(),
    }
}

fn from_json(text: String) -> Result<Value, Error> {
    let parsed: Json = serde_json::from_str(&text).map_err(|error| invalid(error.to_string()))?;
    Ok(Value::from(minijinja::value::Serde(&parsed)))
}

fn to_yaml(value: Value, _kwargs: Kwargs) -> Result<String, Error> {
    serde_saphyr::to_string(&json(&value)?).map_err(|error| invalid(error.to_string()))
}

fn from_yaml(text: String) -> Result<Value, Error> {
    let parsed: Json = serde_saphyr::from_str(&text).map_err(|error| invalid(error.to_string()))?;
    Ok(Value::from(minijinja::value::Serde(&parsed)))
}

/// `combine(*dicts, recursive=false)`: later dicts win; `recursive` merges nested dicts.
fn combine(value: Value, others: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let recursive: Option<bool> = kwargs.get("recursive")?;
    let _list_merge: Option<String> = kwargs.get("list_merge")?;
    kwargs.assert_all_used()?;
    let mut result = json(&value)?;
    let mut sources = Vec::new();
    for other in others.iter() {
        match json(other)? {
            Json::Array(items) => sources.extend(items),
            single => sources.push(single),
        }
    }
    for source in sources {
        merge(&mut result, source, recursive.unwrap_or(false))?;
    }
    Ok(Value::from(minijinja::value::Serde(&result)))
}

fn merge(target: &mut Json, source: Json, recursive: bool) -> Result<(), Error> {
    let (Json::Object(target), Json::Object(source)) = (target, source) else {
        return Err(invalid("combine expects dictionaries"));
    };
    for (key, value) in source {
        match target.get_mut(&key) {
            Some(existing) if recursive && existing.is_object() && value.is_object() => {
                merge(existing, value, true)?;
            }
            _ => {
                target.insert(key, value);
            }
        }
    }
    Ok(())
}

fn dict2items(value: Value, kwargs: Kwargs) -> Result<Value, Error> {
    let key_name: Option<String> = kwargs.get("key_name")?;
    let value_name: Option<String> = kwargs.get("value_name")?;
    kwargs.assert_all_used()?;
    let Json::Object(map) = json(&value)? else {
        return Err(invalid("dict2items expects a dictionary"));
    };
    let (key_name, value_name) = (
        key_name.unwrap_or_else(|| "key".to_owned()),
        value_name.unwrap_or_else(|| "value".to_owned()),
    );
    let items: Vec<Json> = map
        .into_iter()
        .map(|(key, value)| {
            let mut item = serde_json::Map::new();
            item.insert(key_name.clone(), Json::String(key));
            item.insert(value_name.clone(), value);
            Json::Object(item)
        })
        .collect();
    Ok(Value::from(minijinja::value::Serde(&items)))
}

fn items2dict(value: Value, kwargs: Kwargs) -> Result<Value, Error> {
    let key_name: Option<String> = kwargs.get("key_name")?;
    let value_name: Option<String> = kwargs.get("value_name")?;
    kwargs.assert_all_used()?;
    let key_name = key_name.unwrap_or_else(|| "key".to_owned());
    let value_name = value_name.unwrap_or_else(|| "value".to_owned());
    let Json::Array(items) = json(&value)? else {
        return Err(invalid("items2dict expects a list"));
    };
    let mut map = serde_json::Map::new();
    for item in items {
        let key = match item.get(&key_name) {
            Some(Json::String(key)) => key.clone(),
            Some(other) => other.to_string(),
            None => return Err(invalid(format!("an item has no `{key_name}`"))),
        };
        map.insert(key, item.get(&value_name).cloned().unwrap_or(Json::Null));
    }
    Ok(Value::from(minijinja::value::Serde(&map)))
}

fn ternary(value: Value, if_true: Value, if_false: Value, if_none: Option<Value>) -> Value {
    if value.is_none()
        && let Some(if_none) = if_none
    {
        return if_none;
    }
    if value.is_true() { if_true } else { if_false }
}

fn mandatory(value: Value, message: Option<String>) -> Result<Value, Error> {
    if value.is_undefined() {
        return Err(Error::new(
            ErrorKind::UndefinedError,
            message.unwrap_or_else(|| "a mandatory variable is not defined".to_owned()),
        ));
    }
    Ok(value)
}

fn b64encode(text: String) -> String {
    base64::engine::general_purpose::STANDARD.encode(text.as_bytes())
}

fn b64decode(text: String) -> Result<String, Error> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|error| invalid(error.to_string()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn hash(text: String, algorithm: Option<String>) -> Result<String, Error> {
    use sha2::Digest as _;
    let bytes = text.as_bytes();
    Ok(match algorithm.as_deref().unwrap_or("sha1") {
        "sha1" => hex::encode(sha1::Sha1::digest(bytes)),
        "sha256" => hex::encode(sha2::Sha256::digest(bytes)),
        "sha512" => hex::encode(sha2::Sha512::digest(bytes)),
        "md5" => hex::encode(md5::Md5::digest(bytes)),
        other => return Err(invalid(format!("unsupported hash algorithm `{other}`"))),
    })
}

/// `password_hash('sha512', salt)`: a crypt(3) SHA-512 hash, as `/etc/shadow` holds.
fn password_hash(
    password: String,
    scheme: Option<String>,
    salt: Option<String>,
) -> Result<String, Error> {
    if !matches!(scheme.as_deref(), None | Some("sha512" | "sha512_crypt")) {
        return Err(invalid("only the sha512 password hash is supported"));
    }
    let parameters = sha_crypt::Sha512Params::new(sha_crypt::ROUNDS_DEFAULT)
        .map_err(|_| invalid("bad sha512 parameters"))?;
    match salt {
        Some(salt) => {
            let hash =
                sha_crypt::sha512_crypt_b64(password.as_bytes(), salt.as_bytes(), &parameters)
                    .map_err(|_| invalid("cannot hash the password"))?;
            Ok(format!("$6${salt}${hash}"))
        }
        None => sha_crypt::sha512_simple(&password, &parameters)
            .map_err(|_| invalid("cannot hash the password")),
    }
}

fn list(value: &Value) -> Result<Vec<Json>, Error> {
    match json(value)? {
        Json::Array(items) => Ok(items),
        Json::Null => Ok(Vec::new()),
        other => Ok(vec![other]),
    }
}

fn unique(items: Vec<Json>) -> Vec<Json> {
    let mut seen: Vec<Json> = Vec::new();
    for item in items {
        if !seen.contains(&item) {
            seen.push(item);
        }
    }
    seen
}

fn union(value: Value, other: Value) -> Result<Value, Error> {
    let mut items = list(&value)?;
    items.extend(list(&other)?);
    Ok(Value::from(minijinja::value::Serde(unique(items))))
}

fn intersect(value: Value, other: Value) -> Result<Value, Error> {
    let other = list(&other)?;
    let items: Vec<Json> = list(&value)?
        .into_iter()
        .filter(|item| other.contains(item))
        .collect();
    Ok(Value::from(minijinja::value::Serde(unique(items))))
}

fn difference(value: Value, other: Value) -> Result<Value, Error> {
    let other = list(&other)?;
    let items: Vec<Json> = list(&value)?
        .into_iter()
        .filter(|item| !other.contains(item))
        .collect();
    Ok(Value::from(minijinja::value::Serde(unique(items))))
}

fn symmetric_difference(value: Value, other: Value) -> Result<Value, Error> {
    let (left, right) = (list(&value)?, list(&other)?);
    let mut items: Vec<Json> = left
        .iter()
        .filter(|item| !right.contains(item))
        .cloned()
        .collect();
    items.extend(right.iter().filter(|item| !left.contains(item)).cloned());
    Ok(Value::from(minijinja::value::Serde(unique(items))))
}

/// Appends `items` to `output`, descending `levels` deep into nested lists (all when `None`).
fn walk(items: Vec<Json>, levels: Option<usize>, output: &mut Vec<Json>) {
    for item in items {
        match item {
            Json::Array(inner) if levels != Some(0) => walk(inner, levels.map(|n| n - 1), output),
            Json::Null => {}
            other => output.push(other),
        }
    }
}

fn flatten(value: Value, levels: Option<usize>, kwargs: Kwargs) -> Result<Value, Error> {
    let levels = match kwargs.get::<Option<usize>>("levels")? {
        Some(levels) => Some(levels),
        None => levels,
    };
    kwargs.assert_all_used()?;
    let mut output = Vec::new();
    walk(list(&value)?, levels, &mut output);
    Ok(Value::from(minijinja::value::Serde(output)))
}

fn zip(value: Value, others: Rest<Value>) -> Result<Value, Error> {
    let mut lists = vec![list(&value)?];
    for other in others.iter() {
        lists.push(list(other)?);
    }
    let length = lists.iter().map(Vec::len).min().unwrap_or(0);
    let zipped: Vec<Json> = (0..length)
        .map(|index| Json::Array(lists.iter().map(|list| list[index].clone()).collect()))
        .collect();
    Ok(Value::from(minijinja::value::Serde(zipped)))
}

/// Compiles a Python regular expression (the common subset Rust's `regex` shares).
fn compile(pattern: &str, kwargs: &Kwargs) -> Result<Regex, Error> {
    let ignore_case: Option<bool> = kwargs.get("ignorecase")?;
    let multiline: Option<bool> = kwargs.get("multiline")?;
    RegexBuilder::new(pattern)
        .case_insensitive(ignore_case.unwrap_or(false))
        .multi_line(multiline.unwrap_or(false))
        .build()
        .map_err(|error| invalid(format!("bad regular expression `{pattern}`: {error}")))
}

/// Python's `\1` and `\g<name>` become Rust's `${1}` and `${name}`.
pub fn python_replacement(replacement: &str) -> String {
    static BACKREFERENCE: std::sync::LazyLock<Regex> = std::sync::LazyLock::new(|| {
        Regex::new(r"\\(\d+)|\\g<(\w+)>|\$").expect("the backreference pattern is valid")
    });
    BACKREFERENCE
        .replace_all(replacement, |captures: &regex::Captures<'_>| {
            if let Some(number) = captures.get(1) {
                format!("${{{}}}", number.as_str())
            } else if let Some(name) = captures.get(2) {
                format!("${{{}}}", name.as_str())
            } else {
                "$$".to_owned()
            }
        })
        .into_owned()
}

fn regex_replace(
    value: String,
    pattern: String,
    replacement: Option<String>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let regex = compile(&pattern, &kwargs)?;
    kwargs.assert_all_used()?;
    let replacement = python_replacement(&replacement.unwrap_or_default());
    Ok(regex.replace_all(&value, replacement.as_str()).into_owned())
}

fn regex_search(
    value: String,
    pattern: String,
    groups: Rest<String>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let regex = compile(&pattern, &kwargs)?;
    kwargs.assert_all_used()?;
    let Some(captures) = regex.captures(&value) else {
        return Ok(Value::from(()));
    };
    if groups.is_empty() {
        return Ok(Value::from(
            captures.get(0).map_or("", |found| found.as_str()),
        ));
    }
    let selected: Vec<String> = groups
        .iter()
        .map(|group| {
            let found = match group.strip_prefix('\\') {
                Some(number) => number.parse::<usize>().ok().and_then(|n| captures.get(n)),
                None => group
                    .strip_prefix("\\g<")
                    .and_then(|name| captures.name(name.trim_end_matches('>'))),
            };
            found.map_or_else(String::new, |found| found.as_str().to_owned())
        })
        .collect();
    Ok(Value::from(minijinja::value::Serde(selected)))
}

fn regex_findall(value: String, pattern: String, kwargs: Kwargs) -> Result<Value, Error> {
    let regex = compile(&pattern, &kwargs)?;
    kwargs.assert_all_used()?;
    let found: Vec<Json> = regex
        .captures_iter(&value)
        .map(|captures| match captures.len() {
            1 => Json::from(captures.get(0).map_or("", |found| found.as_str())),
            2 => Json::from(captures.get(1).map_or("", |found| found.as_str())),
            _ => Json::Array(
                captures
                    .iter()
                    .skip(1)
                    .map(|group| Json::from(group.map_or("", |found| found.as_str())))
                    .collect(),
            ),
        })
        .collect();
    Ok(Value::from(minijinja::value::Serde(found)))
}

fn type_debug(value: Value) -> &'static str {
    match value.kind() {
        ValueKind::Undefined => "AnsibleUndefined",
        ValueKind::None => "NoneType",
        ValueKind::Bool => "bool",
        ValueKind::Number => {
            if value.as_i64().is_some() {
                "int"
            } else {
                "float"
            }
        }
        ValueKind::String => "str",
        ValueKind::Seq => "list",
        ValueKind::Map => "dict",
        _ => "object",
    }
}
