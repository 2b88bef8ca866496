//! `ini_file` (community.general): an option of a section in an INI file,
//! set, added or removed line by line exactly as Ansible's module edits
//! the file, so that both leave the same bytes.

use drover_playbook::catalog::{
    ArgumentKind::{Bool, List, String as Text},
    ArgumentSpec as A,
};
use regex::Regex;

use super::Module;
use crate::arguments::Arguments;
use crate::remote::{converge_text, path_state_and_content};
use crate::{Error, ModuleContext, ModuleResult};

/// A name no real section has: options outside any section belong to it.
const TOP: &str = "ad01e11446efb704fcdbdb21f2c43757423d91c5";

/// What the task asks of the file.
struct Request {
    section: String,
    option: Option<String>,
    values: Vec<String>,
    present: bool,
    exclusive: bool,
    no_extra_spaces: bool,
    ignore_spaces: bool,
    allow_no_value: bool,
    modify_inactive: bool,
}

impl Request {
    fn read(arguments: &Arguments<'_>) -> Result<Self, Error> {
        let mut values = match arguments.string("value")? {
            Some(value) => vec![value],
            None => arguments.list("values")?,
        };
        values.dedup();
        Ok(Self {
            section: arguments
                .string("section")?
                .filter(|section| !section.is_empty())
                .unwrap_or_else(|| TOP.to_owned()),
            option: arguments.string("option")?,
            values,
            present: arguments.present()?,
            exclusive: arguments.boolean("exclusive", true)?,
            no_extra_spaces: arguments.boolean("no_extra_spaces", false)?,
            ignore_spaces: arguments.boolean("ignore_spaces", false)?,
            allow_no_value: arguments.boolean("allow_no_value", false)?,
            modify_inactive: arguments.boolean("modify_inactive_option", true)?,
        })
    }

    fn assignment(&self, option: &str, value: &str) -> String {
        if self.no_extra_spaces {
            format!("{option}={value}\n")
        } else {
            format!("{option} = {value}\n")
        }
    }
}

/// An option's line: its comment mark (group 2) and its value (group 8).
fn option_pattern(option: &str, active_only: bool) -> Regex {
    let comment = if active_only { "()" } else { "([#;]?)" };
    let prefix = if active_only { "()" } else { "( |\t)*" };
    Regex::new(&format!(
        "^{prefix}{comment}( |\t)*({})( |\t)*(=|$)( |\t)*(.*)",
        regex::escape(option)
    ))
    .expect("an escaped option makes a valid pattern")
}

/// The lines of the section and the range they hold in `lines` (which
/// starts with the top section's header and ends with `[`).
fn find_section(lines: &[String], section: &str) -> (usize, usize, bool) {
    let header = Regex::new(&format!(r"^\[\s*{}\s*]", regex::escape(section.trim())))
        .expect("an escaped section makes a valid pattern");
    let (mut start, mut end, mut within) = (0, 0, false);
    for (index, line) in lines.iter().enumerate() {
        if within && line.starts_with('[') {
            end = index;
            break;
        }
        if header.is_match(line) {
            within = true;
            start = index;
        }
    }
    (start, end, within)
}

/// Edits `original` as Ansible's `do_ini` does; the new text, whether it
/// changed, and Ansible's message.
fn edit(original: &str, request: &Request) -> (String, bool, &'static str) {
    let mut lines: Vec<String> = original.split_inclusive('\n').map(str::to_owned).collect();
    let mut changed = false;
    if lines.is_empty() {
        lines.push("\n".to_owned());
    }
    if let Some(last) = lines.last_mut()
        && !last.ends_with('\n')
    {
        last.push('\n');
        changed = true;
    }
    lines.insert(0, format!("[{TOP}]"));
    lines.push("[".to_owned());
    let (start, end, within) = find_section(&lines, &request.section);
    let mut section: Vec<String> = lines[start..end].to_vec();
    let mut message = "OK";
    if request.present {
        if let Some(option) = &request.option {
            message = present(&mut section, option, request, &mut changed, message);
        }
    } else {
        message = absent(&mut section, request, &mut changed, message);
    }
    let mut result: Vec<String> = lines[..start].to_vec();
    result.extend(section);
    result.extend_from_slice(&lines[end..]);
    result.remove(0);
    result.pop();
    if !within && request.present {
        result.push(format!("[{}]\n", request.section));
        message = "section and option added";
        match &request.option {
            Some(option) if !request.values.is_empty() => {
                for value in &request.values {
                    result.push(request.assignment(option, value));
                }
            }
            Some(option) if request.allow_no_value => result.push(format!("{option}\n")),
            _ => message = "only section added",
        }
        changed = true;
    }
    (result.concat(), changed, message)
}

/// The section's lines while `state: present` edits them, with which
/// lines it has set, as Ansible's module tracks them.
struct Editor<'a> {
    section: &'a mut Vec<String>,
    touched: Vec<bool>,
    pattern: Regex,
    request: &'a Request,
    changed: bool,
    message: &'static str,
}

impl Editor<'_> {
    fn value_of(&self, line: &str) -> Option<String> {
        self.pattern
            .captures(line.trim_end_matches('\n'))
            .map(|captures| {
                captures
                    .get(8)
                    .map_or("", |found| found.as_str())
                    .to_owned()
            })
    }

    /// Puts `line` at `index`, comparing values alone with `ignore_spaces`.
    fn update(&mut self, index: usize, line: String) {
        let differs =
            if self.request.ignore_spaces && !is_commented(&self.pattern, &self.section[index]) {
                self.value_of(&self.section[index]) != self.value_of(&line)
            } else {
                self.section[index] != line
            };
        if differs {
            self.section[index] = line;
            self.changed = true;
            self.message = "option changed";
        }
        self.touched[index] = true;
    }

    /// Lines that already hold one of `values` keep it (in the canonical
    /// form); returns the values left to place, and whether a valueless
    /// option line is there.
    fn keep_matching(&mut self, option: &str, mut values: Vec<String>) -> (Vec<String>, bool) {
        let mut no_value_present = false;
        for index in 0..self.section.len() {
            let Some(found) = self.value_of(&self.section[index]) else {
                continue;
            };
            if !values.is_empty() && values.contains(&found) {
                let line = if found.is_empty() && self.request.allow_no_value {
                    no_value_present = true;
                    format!("{option}\n")
                } else {
                    self.request.assignment(option, &found)
                };
                self.update(index, line);
                values.retain(|value| value != &found);
            } else if values.is_empty() && self.request.allow_no_value {
                self.update(index, format!("{option}\n"));
                no_value_present = true;
                break;
            }
        }
        (values, no_value_present)
    }

    /// `exclusive`: the other lines of the option take the values left,
    /// and what remains of them goes.
    fn exclusive(&mut self, option: &str, values: &mut Vec<String>) {
        for index in 0..self.section.len() {
            if values.is_empty() {
                break;
            }
            if !self.touched[index] && self.value_of(&self.section[index]).is_some() {
                let value = values.remove(0);
                self.update(index, self.request.assignment(option, &value));
            }
        }
        for index in (1..self.section.len()).rev() {
            if !self.touched[index] && self.value_of(&self.section[index]).is_some() {
                self.section.remove(index);
                self.touched.remove(index);
                self.changed = true;
                self.message = "option changed";
            }
        }
    }
}

/// `state: present` within the section's lines.
fn present(
    section: &mut Vec<String>,
    option: &str,
    request: &Request,
    changed: &mut bool,
    message: &'static str,
) -> &'static str {
    let touched = vec![false; section.len()];
    let mut editor = Editor {
        section,
        touched,
        pattern: option_pattern(option, !request.modify_inactive),
        request,
        changed: *changed,
        message,
    };
    let (mut values, no_value_present) = editor.keep_matching(option, request.values.clone());
    if request.exclusive && !request.allow_no_value {
        editor.exclusive(option, &mut values);
    }
    let (mut changed_now, mut message) = (editor.changed, editor.message);
    insert_missing(
        editor.section,
        option,
        &values,
        request,
        no_value_present,
        &mut changed_now,
        &mut message,
    );
    *changed = changed_now;
    message
}

fn is_commented(pattern: &Regex, line: &str) -> bool {
    pattern
        .captures(line.trim_end_matches('\n'))
        .and_then(|captures| captures.get(2))
        .is_some_and(|mark| !mark.as_str().is_empty())
}

/// Adds the values not yet in the section after its last line that is
/// neither blank nor a comment.
fn insert_missing(
    section: &mut Vec<String>,
    option: &str,
    values: &[String],
    request: &Request,
    no_value_present: bool,
    changed: &mut bool,
    message: &mut &'static str,
) {
    let blank_or_comment = Regex::new(r"^[ \t]*([#;].*)?$").expect("a valid pattern");
    for index in (1..=section.len()).rev() {
        if blank_or_comment.is_match(section[index - 1].trim_end_matches('\n')) {
            continue;
        }
        if !values.is_empty() {
            for value in values.iter().rev() {
                section.insert(index, request.assignment(option, value));
            }
            *message = "option added";
            *changed = true;
        } else if request.allow_no_value && !no_value_present {
            section.insert(index, format!("{option}\n"));
            *message = "option added";
            *changed = true;
        }
        break;
    }
}

/// `state: absent`: the option's active lines (those with one of `values`
/// when not exclusive), or, without an option, the whole section.
fn absent(
    section: &mut Vec<String>,
    request: &Request,
    changed: &mut bool,
    message: &'static str,
) -> &'static str {
    let Some(option) = &request.option else {
        if section.is_empty() {
            return message;
        }
        section.clear();
        *changed = true;
        return "section removed";
    };
    let pattern = option_pattern(option, true);
    let before = section.len();
    section.retain(|line| {
        let Some(captures) = pattern.captures(line.trim_end_matches('\n')) else {
            return true;
        };
        let value = captures.get(8).map_or("", |found| found.as_str());
        !(request.exclusive || request.values.iter().any(|wanted| wanted == value))
    });
    if section.len() == before {
        return message;
    }
    *changed = true;
    "option changed"
}

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let path = arguments.required("path")?;
    let request = Request::read(arguments)?;
    if request.present && !request.allow_no_value && request.values.is_empty() {
        return Ok(ModuleResult::failed(
            "Parameter 'value(s)' must be defined if state=present and allow_no_value=False.",
        ));
    }
    let (state, existing) = path_state_and_content(context, &path, true).await?;
    if existing.is_none() && !arguments.boolean("create", true)? {
        return Ok(ModuleResult::failed(format!(
            "Destination {path} does not exist!"
        )));
    }
    let original = existing.unwrap_or_default();
    let (content, _, message) = edit(&original, &request);
    let result = ModuleResult::ok()
        .message(message)
        .with("path", serde_json::json!(path));
    let content = content.into_bytes();
    converge_text(
        context, arguments, &path, &state, &original, content, result,
    )
    .await
}

const INI_FILE: &[A] = &[
    A::new("path", Text).aliases(&["dest"]).required(),
    A::new("section", Text),
    A::new("option", Text).aliases(&["key"]),
    A::new("value", Text),
    A::new("values", List),
    A::new("state", Text).choices(&["present", "absent"]),
    A::new("exclusive", Bool),
    A::new("no_extra_spaces", Bool),
    A::new("ignore_spaces", Bool),
    A::new("allow_no_value", Bool),
    A::new("modify_inactive_option", Bool),
    A::new("create", Bool),
    A::new("backup", Bool),
    A::new("follow", Bool),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] =
    &[module!(&["ini_file"], &[INI_FILE, &super::ATTRIBUTES], run)
        .reads_ahead(|arguments, _| crate::read_ahead::content_query(arguments))];

#[cfg(test)]
mod tests {
    use super::*;

    fn request(section: &str, option: &str, values: &[&str], present: bool) -> Request {
        Request {
            section: section.to_owned(),
            option: Some(option.to_owned()),
            values: values.iter().map(|value| (*value).to_owned()).collect(),
            present,
            exclusive: true,
            no_extra_spaces: false,
            ignore_spaces: false,
            allow_no_value: false,
            modify_inactive: true,
        }
    }

    #[test]
    fn options_are_set_added_and_removed_as_ansible_does() {
        let text = "[main]\nname = a\n#port = 1\n\n[other]\nx = 1\n";
        let (edited, changed, _) = edit(text, &request("main", "port", &["8080"], true));
        assert!(changed);
        assert_eq!(edited, "[main]\nname = a\nport = 8080\n\n[other]\nx = 1\n");
        let (edited, changed, message) = edit(&edited, &request("main", "port", &["8080"], true));
        assert!(!changed, "{edited}");
        assert_eq!(message, "OK");
        let (edited, _, message) = edit(&edited, &request("new", "k", &["v"], true));
        assert_eq!(message, "section and option added");
        assert!(edited.ends_with("x = 1\n[new]\nk = v\n"), "{edited}");
        let (edited, changed, _) = edit(&edited, &request("other", "x", &[], false));
        assert!(changed);
        assert!(!edited.contains("x = 1"), "{edited}");
    }
}
