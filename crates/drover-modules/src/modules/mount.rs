//! `mount` (ansible.posix): a mount point's line in fstab, edited as
//! Ansible's module edits it (so both leave the same bytes), and the mount
//! itself made, remade or undone with `mount` and `umount` (Linux).

use bytes::Bytes;
use drover_playbook::catalog::{
    ArgumentKind::{Bool, Raw, String as Text},
    ArgumentSpec as A,
};
use drover_ssh::quote;
use serde_json::json;

use super::Module;
use crate::arguments::Arguments;
use crate::remote::{Attributes, path_state_and_content, write_file};
use crate::{Error, ModuleContext, ModuleResult};

/// The fields of one fstab line, escaped as fstab wants them.
struct Entry {
    src: String,
    name: String,
    fstype: String,
    opts: String,
    dump: String,
    passno: String,
}

impl Entry {
    fn line(&self) -> String {
        format!(
            "{} {} {} {} {} {}\n",
            self.src, self.name, self.fstype, self.opts, self.dump, self.passno
        )
    }
}

/// A space, `&` or backslash in a field, as fstab writes it.
fn escape(text: &str) -> String {
    text.replace('\\', "\\134")
        .replace(' ', "\\040")
        .replace('&', "\\046")
}

/// Whether `fields` (of a line) name the wanted mount point (for swap,
/// whose point is `none`, the source too).
fn same_point(fields: &[&str], wanted: &Entry, source_given: bool) -> bool {
    fields.get(1) == Some(&wanted.name.as_str())
        && !(source_given
            && fields[1] == "none"
            && fields.get(2) == Some(&"swap")
            && fields[0] != wanted.src)
}

/// `present`: the wanted line replaces a differing one for the same point,
/// or is appended; the new fstab, and whether it changed.
fn set_mount(content: &str, wanted: &Entry, source_given: bool) -> (String, bool) {
    let (mut written, mut exists, mut changed) = (String::new(), false, false);
    for raw in content.split_inclusive('\n') {
        let line = if raw.ends_with('\n') {
            raw.to_owned()
        } else {
            format!("{raw}\n")
        };
        let fields: Vec<&str> = line
            .split('#')
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .collect();
        if line.trim().is_empty()
            || line.trim().starts_with('#')
            || !(4..=6).contains(&fields.len())
            || !same_point(&fields, wanted, source_given)
        {
            written.push_str(&line);
            continue;
        }
        exists = true;
        let current = [
            fields[0],
            fields[2],
            fields[3],
            fields.get(4).copied().unwrap_or("0"),
            fields.get(5).copied().unwrap_or("0"),
        ];
        let desired = [
            &wanted.src,
            &wanted.fstype,
            &wanted.opts,
            &wanted.dump,
            &wanted.passno,
        ];
        if current
            .iter()
            .zip(desired)
            .any(|(have, want)| *have != want.as_str())
        {
            changed = true;
            written.push_str(&wanted.line());
        } else {
            written.push_str(&line);
        }
    }
    if !exists {
        written.push_str(&wanted.line());
        changed = true;
    }
    (written, changed)
}

/// `absent`: every six-field line for the point removed.
fn unset_mount(content: &str, wanted: &Entry, source_given: bool) -> (String, bool) {
    let (mut written, mut changed) = (String::new(), false);
    for line in content.split_inclusive('\n') {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if line.trim().is_empty()
            || line.trim().starts_with('#')
            || fields.len() != 6
            || !same_point(&fields, wanted, source_given)
        {
            written.push_str(line);
            continue;
        }
        changed = true;
    }
    (written, changed)
}

fn entry(arguments: &Arguments<'_>, path: &str) -> Result<Entry, Error> {
    Ok(Entry {
        src: escape(&arguments.string("src")?.unwrap_or_default()),
        name: escape(path),
        fstype: escape(&arguments.string("fstype")?.unwrap_or_default()),
        opts: escape(
            &arguments
                .string("opts")?
                .unwrap_or_else(|| "defaults".to_owned()),
        ),
        dump: arguments.string("dump")?.unwrap_or_else(|| "0".to_owned()),
        passno: arguments
            .string("passno")?
            .unwrap_or_else(|| "0".to_owned()),
    })
}

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let path = arguments.required("path")?;
    let state = arguments.required("state")?;
    let fstab = arguments
        .string("fstab")?
        .unwrap_or_else(|| "/etc/fstab".to_owned());
    let wanted = entry(arguments, &path)?;
    let source_given = arguments.string("src")?.is_some();
    if let Some(problem) = refused(&state, &wanted) {
        return Ok(ModuleResult::failed(problem));
    }
    let (table_state, existing) = path_state_and_content(context, &fstab, true).await?;
    let content = existing.unwrap_or_default();
    let (new_content, changed) = match state.as_str() {
        "present" | "mounted" => set_mount(&content, &wanted, source_given),
        "absent" | "absent_from_fstab" => unset_mount(&content, &wanted, source_given),
        _ => (content.clone(), false),
    };
    let mut result = ModuleResult::ok()
        .with("name", json!(path))
        .with("fstab", json!(fstab));
    result.changed = changed;
    if changed && !context.check_mode {
        let backup = arguments.boolean("backup", false)?;
        let content = Bytes::from(new_content);
        write_file(
            context,
            &fstab,
            content,
            &Attributes::default(),
            &table_state,
            backup,
        )
        .await?;
    }
    let table = Table {
        path: fstab,
        state: table_state,
        before: content,
    };
    act(context, &state, changed, &path, &table, result).await
}

/// The fstab file as it was before the task.
struct Table {
    path: String,
    state: crate::remote::PathState,
    before: String,
}

/// Mounts, remounts or unmounts as `state` asks, once fstab is right.
async fn act(
    context: &ModuleContext<'_>,
    state: &str,
    changed: bool,
    path: &str,
    table: &Table,
    mut result: ModuleResult,
) -> Result<ModuleResult, Error> {
    let mounted = is_mounted(context, path).await?;
    let Some(command) = mount_command(state, changed, mounted, path, &table.path) else {
        return Ok(result);
    };
    result.changed = true;
    if context.check_mode {
        return Ok(result);
    }
    let output = context.exec(&command, None).await?;
    if output.success() {
        return Ok(result);
    }
    if state == "mounted" && changed {
        // A line that cannot be mounted goes back out, as in Ansible.
        let before = Bytes::from(table.before.clone());
        write_file(
            context,
            &table.path,
            before,
            &Attributes::default(),
            &table.state,
            false,
        )
        .await?;
    }
    let verb = if state == "unmounted" || state == "absent" {
        "unmounting"
    } else {
        "mounting"
    };
    Ok(ModuleResult::failed(format!(
        "Error {verb} {path}: {}",
        String::from_utf8_lossy(&output.stderr).trim()
    )))
}

/// What makes the task impossible as written, if anything.
fn refused(state: &str, wanted: &Entry) -> Option<String> {
    if state == "ephemeral" {
        return Some("`state: ephemeral` is not implemented by drover's mount".to_owned());
    }
    (matches!(state, "mounted" | "present") && (wanted.src.is_empty() || wanted.fstype.is_empty()))
        .then(|| format!("state is {state} but all of the following are missing: src, fstype"))
}

/// The command that brings the mount to `state`, if one is needed.
fn mount_command(
    state: &str,
    changed: bool,
    mounted: bool,
    path: &str,
    fstab: &str,
) -> Option<String> {
    let table = if fstab == "/etc/fstab" {
        String::new()
    } else {
        format!(" -T {}", quote(fstab))
    };
    let point = quote(path);
    match state {
        "absent" if changed && mounted => Some(format!("umount {point} && rmdir {point}")),
        "absent" if changed => Some(format!("rmdir {point} 2>/dev/null; true")),
        "unmounted" if mounted => Some(format!("umount {point}")),
        "mounted" if !mounted => Some(format!("mkdir -p {point} && mount{table} {point}")),
        "mounted" if changed => Some(format!(
            "mount{table} -o remount {point} || {{ umount {point} && mount{table} {point}; }}"
        )),
        "remounted" => Some(format!("mount{table} -o remount {point}")),
        _ => None,
    }
}

/// Whether something is mounted at `path` now.
async fn is_mounted(context: &ModuleContext<'_>, path: &str) -> Result<bool, Error> {
    let script = format!(
        "awk -v p={} '$2 == p {{ found = 1 }} END {{ exit !found }}' /proc/mounts",
        quote(&escape(path))
    );
    Ok(context.exec_read_only(&script).await?.success())
}

const MOUNT: &[A] = &[
    A::new("path", Text).aliases(&["name"]).required(),
    A::new("state", Text)
        .choices(&[
            "absent",
            "absent_from_fstab",
            "mounted",
            "present",
            "unmounted",
            "remounted",
            "ephemeral",
        ])
        .required(),
    A::new("src", Text),
    A::new("fstype", Text),
    A::new("opts", Text),
    A::new("dump", Raw),
    A::new("passno", Raw),
    A::new("fstab", Text),
    A::new("backup", Bool),
    A::new("boot", Bool),
    A::new("opts_no_log", Bool),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(&["mount"], &[MOUNT], run)];

#[cfg(test)]
mod tests {
    use super::*;

    fn wanted(name: &str, opts: &str) -> Entry {
        Entry {
            src: "/dev/sdb1".to_owned(),
            name: escape(name),
            fstype: "ext4".to_owned(),
            opts: opts.to_owned(),
            dump: "0".to_owned(),
            passno: "2".to_owned(),
        }
    }

    #[test]
    fn fstab_lines_are_set_and_unset_as_ansible_edits_them() {
        let table =
            "# static\n/dev/sda1 / ext4 errors=remount-ro 0 1\n/dev/sdb1 /data ext4 defaults\n";
        let (edited, changed) = set_mount(table, &wanted("/data", "noatime"), true);
        assert!(changed);
        assert!(
            edited.ends_with("/dev/sdb1 /data ext4 noatime 0 2\n"),
            "{edited}"
        );
        let (again, changed) = set_mount(&edited, &wanted("/data", "noatime"), true);
        assert!(!changed && again == edited);
        let (added, _) = set_mount(table, &wanted("/my data", "defaults"), true);
        assert!(
            added.ends_with("/dev/sdb1 /my\\040data ext4 defaults 0 2\n"),
            "{added}"
        );
        let (removed, changed) = unset_mount(&edited, &wanted("/data", "noatime"), true);
        assert!(changed && !removed.contains("/data"), "{removed}");
    }
}
