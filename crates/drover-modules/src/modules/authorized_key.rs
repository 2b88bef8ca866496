//! `authorized_key`: SSH public keys present in (or absent from) a user's
//! `authorized_keys`, matched by key type and key, with options and comment.

use bytes::Bytes;
use drover_playbook::catalog::{
    ArgumentKind::{Bool, String as Text},
    ArgumentSpec as A,
};
use drover_ssh::quote;

use super::Module;
use crate::arguments::Arguments;
use crate::remote::{Attributes, PathState, output_value, write_file};
use crate::{Diff, Error, ModuleContext, ModuleResult};

/// One `authorized_keys` line, split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyLine {
    pub(crate) options: Option<String>,
    pub(crate) kind: String,
    pub(crate) key: String,
    pub(crate) comment: Option<String>,
}

impl KeyLine {
    /// Parses a key line; `None` for blanks, comments and lines without a key.
    pub(crate) fn parse(line: &str) -> Option<Self> {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return None;
        }
        let words = split_respecting_quotes(line);
        let position = words.iter().position(|(_, word)| is_key_type(word))?;
        let key = words.get(position + 1)?.1.clone();
        let options = (position > 0).then(|| line[..words[position].0].trim().to_owned());
        let after_key = words
            .get(position + 2)
            .map(|(start, _)| line[*start..].trim().to_owned());
        Some(Self {
            options,
            kind: words[position].1.clone(),
            key,
            comment: after_key.filter(|comment| !comment.is_empty()),
        })
    }

    fn render(&self) -> String {
        let mut line = String::new();
        if let Some(options) = &self.options {
            line.push_str(options);
            line.push(' ');
        }
        line.push_str(&self.kind);
        line.push(' ');
        line.push_str(&self.key);
        if let Some(comment) = &self.comment {
            line.push(' ');
            line.push_str(comment);
        }
        line
    }

    fn same_key(&self, other: &Self) -> bool {
        self.kind == other.kind && self.key == other.key
    }
}

fn is_key_type(word: &str) -> bool {
    word.starts_with("ssh-") || word.starts_with("ecdsa-sha2-") || word.starts_with("sk-")
}

/// Words with their byte offsets; double quotes (in options) hold spaces.
fn split_respecting_quotes(line: &str) -> Vec<(usize, String)> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut start = 0;
    let mut quoted = false;
    for (index, character) in line.char_indices() {
        if character == '"' {
            quoted = !quoted;
        }
        if character.is_whitespace() && !quoted {
            if !current.is_empty() {
                words.push((start, std::mem::take(&mut current)));
            }
            continue;
        }
        if current.is_empty() {
            start = index;
        }
        current.push(character);
    }
    if !current.is_empty() {
        words.push((start, current));
    }
    words
}

/// The file's new content, or `None` when it already holds what is asked.
pub(crate) fn update(
    existing: &str,
    wanted: &[KeyLine],
    present: bool,
    exclusive: bool,
) -> Option<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut placed = vec![false; wanted.len()];
    for line in existing.lines() {
        let Some(parsed) = KeyLine::parse(line) else {
            lines.push(line.to_owned());
            continue;
        };
        match wanted.iter().position(|key| key.same_key(&parsed)) {
            Some(index) if present => {
                if !placed[index] {
                    lines.push(wanted[index].render());
                    placed[index] = true;
                }
            }
            Some(_) => {}
            None if present && exclusive => {}
            None => lines.push(line.to_owned()),
        }
    }
    if present {
        for (key, done) in wanted.iter().zip(&placed) {
            if !done {
                lines.push(key.render());
            }
        }
    }
    let mut content = lines.join("\n");
    if !content.is_empty() {
        content.push('\n');
    }
    (content != existing).then_some(content)
}

const MARKER: &str = "--drover-authorized-keys--";

/// The key lines `key` holds, each with `key_options` and `comment` when
/// they are given.
fn wanted_keys(arguments: &Arguments<'_>, key_text: &str) -> Result<Vec<KeyLine>, Error> {
    let options = arguments.string("key_options")?;
    let comment = arguments.string("comment")?;
    let mut wanted = Vec::new();
    for line in key_text.lines().filter(|line| !line.trim().is_empty()) {
        let mut key = KeyLine::parse(line).ok_or_else(|| {
            Error::Arguments(format!(
                "`key` holds a line that is not an SSH public key: `{line}`"
            ))
        })?;
        if options.is_some() {
            key.options.clone_from(&options);
        }
        if comment.is_some() {
            key.comment.clone_from(&comment);
        }
        wanted.push(key);
    }
    Ok(wanted)
}

/// Asks for the user's home (or `path`), primary group and current keys
/// in one round trip.
fn query_script(user: &str, path: Option<&str>) -> String {
    format!(
        "entry=$(getent passwd {user}) || {{ echo 'no such user'; exit 3; }}\n\
         home=$(echo \"$entry\" | cut -d: -f6); group=$(id -gn {user})\n\
         f={file}\n\
         echo \"path=$f\"; echo \"group=$group\"\n\
         echo {MARKER}; cat \"$f\" 2>/dev/null; true\n",
        user = quote(user),
        file = path.map_or_else(|| "\"$home/.ssh/authorized_keys\"".to_owned(), quote),
    )
}

/// `~/.ssh`, made private to `user` when it is missing (`manage_dir`).
async fn make_ssh_directory(
    context: &ModuleContext<'_>,
    file: &str,
    user: &str,
    group: &str,
) -> Result<(), Error> {
    let directory = file.trim_end_matches("/authorized_keys");
    let owner = quote(&format!("{user}:{group}"));
    let command = format!(
        "[ -d {dir} ] || {{ mkdir -p {dir} && chmod 700 {dir} && chown {owner} {dir}; }}",
        dir = quote(directory)
    );
    context.exec(&command, None).await?;
    Ok(())
}

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let user = arguments.required("user")?;
    let key_text = arguments.required("key")?;
    if key_text.starts_with("http://") || key_text.starts_with("https://") {
        return Err(Error::Arguments(
            "`key` as a URL is not supported; fetch the keys first (for example with `lookup('url', ...)` or `get_url`)".to_owned(),
        ));
    }
    let present = arguments.present()?;
    let exclusive = arguments.boolean("exclusive", false)?;
    let manage_directory = arguments.boolean("manage_dir", true)?;
    let wanted = wanted_keys(arguments, &key_text)?;
    let path = arguments.string("path")?;
    let query = query_script(&user, path.as_deref());
    let output = context.exec(&query, None).await?;
    if !output.success() {
        return Ok(ModuleResult::failed(format!(
            "user {user} does not exist on the host"
        )));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let (head, existing) = stdout
        .split_once(&format!("{MARKER}\n"))
        .unwrap_or((&stdout, ""));
    let value = |name: &str| output_value(head, name);
    let (file, group) = (value("path"), value("group"));
    let Some(content) = update(existing, &wanted, present, exclusive) else {
        return Ok(ModuleResult::ok().with("user", user).with("path", file));
    };
    let result = ModuleResult::changed()
        .with("user", user.clone())
        .with("path", file.clone())
        .with_diff(
            context.diff,
            Diff::of_file(&file, existing.to_owned(), content.clone()),
        );
    if context.check_mode {
        return Ok(result);
    }
    if manage_directory && path.is_none() {
        make_ssh_directory(context, &file, &user, &group).await?;
    }
    let attributes = Attributes {
        mode: Some(0o600),
        owner: Some(user),
        group: Some(group),
        validate: None,
    };
    let content = Bytes::from(content);
    let absent = PathState::absent();
    write_file(context, &file, content, &attributes, &absent, false).await?;
    Ok(result)
}

const AUTHORIZED_KEY: &[A] = &[
    A::new("user", Text).required(),
    A::new("key", Text).required(),
    A::new("state", Text).choices(&["present", "absent"]),
    A::new("path", Text),
    A::new("manage_dir", Bool),
    A::new("exclusive", Bool),
    A::new("key_options", Text),
    A::new("comment", Text),
    A::new("validate_certs", Bool),
    A::new("follow", Bool),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(&["authorized_key"], &[AUTHORIZED_KEY], run)];

#[cfg(test)]
mod tests {
    use super::{KeyLine, update};

    const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE1 alice@laptop";
    const OTHER: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ bob";

    #[test]
    fn key_lines_keep_quoted_options_whole() {
        let line =
            KeyLine::parse(r#"from="10.0.0.1",command="echo hi there" ssh-ed25519 AAAA x y"#)
                .unwrap();
        assert_eq!(
            line.options.as_deref(),
            Some(r#"from="10.0.0.1",command="echo hi there""#)
        );
        assert_eq!(line.kind, "ssh-ed25519");
        assert_eq!(line.comment.as_deref(), Some("x y"));
        assert_eq!(KeyLine::parse("# a comment"), None);
    }

    #[test]
    fn keys_are_added_once_replaced_in_place_and_removed() {
        let alice = KeyLine::parse(KEY).unwrap();
        let added = update(
            &format!("{OTHER}\n"),
            std::slice::from_ref(&alice),
            true,
            false,
        )
        .unwrap();
        assert_eq!(added, format!("{OTHER}\n{KEY}\n"));
        assert_eq!(
            update(&added, std::slice::from_ref(&alice), true, false),
            None
        );
        let mut restricted = alice.clone();
        restricted.options = Some("no-pty".to_owned());
        assert_eq!(
            update(&added, &[restricted], true, false).unwrap(),
            format!("{OTHER}\nno-pty {KEY}\n")
        );
        assert_eq!(
            update(&added, std::slice::from_ref(&alice), false, false).unwrap(),
            format!("{OTHER}\n")
        );
        assert_eq!(
            update(&added, &[alice], true, true).unwrap(),
            format!("{KEY}\n")
        );
    }
}
