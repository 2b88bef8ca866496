//! `user`: a local account present (with its uid, primary and supplementary
//! groups, shell, home, comment, password hash and SSH key) or absent.
//! Uses shadow-utils (`useradd`, `usermod`, `userdel`), like Ansible.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use drover_playbook::catalog::{
    ArgumentKind::{Bool, Integer, List, String as Text},
    ArgumentSpec as A,
};
use drover_ssh::quote;
use serde_json::Value as Json;

use super::Module;
use crate::arguments::Arguments;
use crate::{Diff, Error, ModuleContext, ModuleResult};

/// The account as the host reports it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Account {
    pub(crate) uid: String,
    pub(crate) group: String,
    pub(crate) groups: BTreeSet<String>,
    pub(crate) comment: String,
    pub(crate) home: String,
    pub(crate) shell: String,
    pub(crate) password: String,
    pub(crate) key_exists: bool,
}

/// What the arguments ask for.
#[derive(Debug, Default, Clone)]
pub(crate) struct Request {
    pub(crate) name: String,
    pub(crate) present: bool,
    pub(crate) uid: Option<String>,
    pub(crate) group: Option<String>,
    pub(crate) groups: Option<Vec<String>>,
    pub(crate) append: bool,
    pub(crate) shell: Option<String>,
    pub(crate) home: Option<String>,
    pub(crate) create_home: bool,
    pub(crate) move_home: bool,
    pub(crate) system: bool,
    pub(crate) comment: Option<String>,
    pub(crate) password: Option<String>,
    pub(crate) update_password_always: bool,
    pub(crate) remove: bool,
    pub(crate) generate_ssh_key: bool,
    pub(crate) ssh_key_type: String,
    pub(crate) ssh_key_bits: Option<u64>,
    pub(crate) ssh_key_file: Option<String>,
    pub(crate) ssh_key_comment: Option<String>,
}

impl Request {
    fn read(arguments: &Arguments<'_>) -> Result<Self, Error> {
        let present = arguments.present()?;
        let groups = match arguments.raw("groups") {
            None => None,
            Some(_) => Some(arguments.list("groups")?),
        };
        Ok(Self {
            name: arguments.required("name")?,
            present,
            uid: arguments.string("uid")?,
            group: arguments.string("group")?,
            groups,
            append: arguments.boolean("append", false)?,
            shell: arguments.string("shell")?,
            home: arguments.string("home")?,
            create_home: arguments.boolean("create_home", true)?,
            move_home: arguments.boolean("move_home", false)?,
            system: arguments.boolean("system", false)?,
            comment: arguments.string("comment")?,
            password: arguments.string("password")?,
            update_password_always: arguments.string("update_password")?.as_deref()
                != Some("on_create"),
            remove: arguments.boolean("remove", false)?,
            generate_ssh_key: arguments.boolean("generate_ssh_key", false)?,
            ssh_key_type: arguments
                .string("ssh_key_type")?
                .unwrap_or_else(|| "rsa".to_owned()),
            ssh_key_bits: arguments.unsigned("ssh_key_bits")?,
            ssh_key_file: arguments.string("ssh_key_file")?,
            ssh_key_comment: arguments.string("ssh_key_comment")?,
        })
    }

    /// The key file, relative to the home directory unless absolute.
    fn key_file(&self, home: &str) -> String {
        let file = self
            .ssh_key_file
            .clone()
            .unwrap_or_else(|| format!(".ssh/id_{}", self.ssh_key_type));
        if file.starts_with('/') {
            file
        } else {
            format!("{}/{file}", home.trim_end_matches('/'))
        }
    }
}

/// One script: the passwd entry, primary group name, supplementary groups,
/// shadow hash (readable as root) and whether the key file exists.
fn query_script(request: &Request) -> String {
    let name = quote(&request.name);
    let key = request
        .ssh_key_file
        .clone()
        .unwrap_or_else(|| format!(".ssh/id_{}", request.ssh_key_type));
    let key = if key.starts_with('/') {
        quote(&key)
    } else {
        format!("\"$home\"/{}", quote(&key))
    };
    format!(
        "entry=$(getent passwd {name}) || {{ echo absent; exit 0; }}\n\
         echo \"passwd=$entry\"\n\
         gid=$(echo \"$entry\" | cut -d: -f4); home=$(echo \"$entry\" | cut -d: -f6)\n\
         echo \"group=$(getent group \"$gid\" | cut -d: -f1)\"\n\
         echo \"groups=$(id -Gn {name} 2>/dev/null)\"\n\
         echo \"shadow=$(getent shadow {name} 2>/dev/null | cut -d: -f2)\"\n\
         if [ -e {key} ]; then echo key=yes; fi\n"
    )
}

fn parse(output: &str) -> Option<Account> {
    if output.lines().any(|line| line == "absent") {
        return None;
    }
    let mut account = Account::default();
    for line in output.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        match key {
            "passwd" => {
                let fields: Vec<&str> = value.split(':').collect();
                if fields.len() >= 7 {
                    account.uid = fields[2].to_owned();
                    account.comment = fields[4].to_owned();
                    account.home = fields[5].to_owned();
                    account.shell = fields[6].to_owned();
                }
            }
            "group" => account.group = value.to_owned(),
            "groups" => account.groups = value.split_whitespace().map(str::to_owned).collect(),
            "shadow" => account.password = value.to_owned(),
            "key" => account.key_exists = true,
            _ => {}
        }
    }
    // `id -Gn` lists the primary group too; Ansible's `groups` are the others.
    let primary = account.group.clone();
    account.groups.remove(&primary);
    Some(account)
}

/// The `useradd`, `usermod` or `userdel` command bringing `account` to `request`.
pub(crate) fn plan(request: &Request, account: Option<&Account>) -> Option<String> {
    let name = quote(&request.name);
    match (account, request.present) {
        (None, false) => None,
        (None, true) => Some(format!("{} {name}", useradd(request))),
        (Some(_), false) => Some(format!(
            "userdel{} {name}",
            if request.remove { " -r" } else { "" }
        )),
        (Some(account), true) => {
            let command = usermod(request, account);
            (command != "usermod").then(|| format!("{command} {name}"))
        }
    }
}

/// `useradd` with the options the request gives (the name not yet added).
fn useradd(request: &Request) -> String {
    let mut command = String::from("useradd");
    option(&mut command, "-u", request.uid.as_deref());
    option(&mut command, "-g", request.group.as_deref());
    if let Some(groups) = request.groups.as_ref().filter(|groups| !groups.is_empty()) {
        option(&mut command, "-G", Some(&groups.join(",")));
    }
    option(&mut command, "-s", request.shell.as_deref());
    option(&mut command, "-d", request.home.as_deref());
    option(&mut command, "-c", request.comment.as_deref());
    option(&mut command, "-p", request.password.as_deref());
    if request.system {
        command.push_str(" -r");
    }
    command.push_str(if request.create_home { " -m" } else { " -M" });
    command
}

/// `usermod` with an option for each thing that differs from the account
/// (just `usermod` when nothing does; the name not yet added).
fn usermod(request: &Request, account: &Account) -> String {
    let mut command = String::from("usermod");
    let differs =
        |wanted: Option<&String>, current: &str| wanted.filter(|value| *value != current).cloned();
    option(
        &mut command,
        "-u",
        differs(request.uid.as_ref(), &account.uid).as_deref(),
    );
    option(
        &mut command,
        "-g",
        differs(request.group.as_ref(), &account.group).as_deref(),
    );
    if let Some(groups) = &request.groups {
        let wanted: BTreeSet<String> = groups.iter().cloned().collect();
        if request.append {
            let missing: Vec<String> = wanted.difference(&account.groups).cloned().collect();
            if !missing.is_empty() {
                let _ = write!(command, " -a -G {}", quote(&missing.join(",")));
            }
        } else if wanted != account.groups {
            let all: Vec<String> = wanted.into_iter().collect();
            let _ = write!(command, " -G {}", quote(&all.join(",")));
        }
    }
    option(
        &mut command,
        "-s",
        differs(request.shell.as_ref(), &account.shell).as_deref(),
    );
    if let Some(home) = differs(request.home.as_ref(), &account.home) {
        let _ = write!(
            command,
            " -d {}{}",
            quote(&home),
            if request.move_home { " -m" } else { "" }
        );
    }
    option(
        &mut command,
        "-c",
        differs(request.comment.as_ref(), &account.comment).as_deref(),
    );
    if request.update_password_always {
        option(
            &mut command,
            "-p",
            differs(request.password.as_ref(), &account.password).as_deref(),
        );
    }
    command
}

fn option(command: &mut String, flag: &str, value: Option<&str>) {
    if let Some(value) = value {
        let _ = write!(command, " {flag} {}", quote(value));
    }
}

/// The account as it is, and the command that will change it (with the
/// password hash hidden: a secret is never shown, as Ansible hides it).
fn planned_diff(request: &Request, account: Option<&Account>, command: Option<&str>) -> Diff {
    Diff {
        before: describe(account),
        after: command.map_or_else(String::new, |command| {
            request.password.as_deref().map_or_else(
                || command.to_owned(),
                |password| command.replace(&quote(password), "********"),
            )
        }),
        before_header: format!("user {}", request.name),
        after_header: format!("user {}", request.name),
    }
}

/// The account's details in the result, as Ansible reports them.
fn with_account(result: ModuleResult, account: &Account) -> ModuleResult {
    result
        .with(
            "uid",
            account.uid.parse::<u64>().map_or(Json::Null, Json::from),
        )
        .with("group", account.group.clone())
        .with(
            "groups",
            account.groups.iter().cloned().collect::<Vec<_>>().join(","),
        )
        .with("home", account.home.clone())
        .with("shell", account.shell.clone())
        .with("comment", account.comment.clone())
}

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let request = Request::read(arguments)?;
    let output = context.exec(&query_script(&request), None).await?;
    let account = parse(&String::from_utf8_lossy(&output.stdout));
    let command = plan(&request, account.as_ref());
    let needs_key = request.present
        && request.generate_ssh_key
        && !account.as_ref().is_some_and(|account| account.key_exists);
    let changed = command.is_some() || needs_key;
    let mut result = if changed {
        ModuleResult::changed()
    } else {
        ModuleResult::ok()
    };
    result = result
        .with("name", request.name.clone())
        .with("state", if request.present { "present" } else { "absent" })
        .with_diff(
            context.diff && changed,
            planned_diff(&request, account.as_ref(), command.as_deref()),
        );
    if !context.check_mode
        && let Some(command) = &command
    {
        let output = context.exec(command, None).await?;
        if !output.success() {
            let verb = command.split_whitespace().next().unwrap_or_default();
            return Ok(ModuleResult::failed(format!(
                "{verb} failed for user {}: {}",
                request.name,
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
    }
    if !request.present {
        return Ok(result);
    }
    // Report the account as it is now (or would be), with its key: asked
    // again only when a command changed it.
    let now = if context.check_mode || command.is_none() {
        account
    } else {
        let output = context.exec(&query_script(&request), None).await?;
        parse(&String::from_utf8_lossy(&output.stdout))
    };
    if let Some(account) = &now {
        result = with_account(result, account);
        if request.generate_ssh_key {
            result = generate_key(&request, account, context, result).await?;
        }
    }
    Ok(result)
}

/// Creates the user's SSH key pair unless it exists; reports the public key.
async fn generate_key(
    request: &Request,
    account: &Account,
    context: &ModuleContext<'_>,
    mut result: ModuleResult,
) -> Result<ModuleResult, Error> {
    let file = request.key_file(&account.home);
    let comment = request
        .ssh_key_comment
        .clone()
        .unwrap_or_else(|| format!("ansible-generated on {}", request.name));
    let bits = request
        .ssh_key_bits
        .map_or_else(String::new, |bits| format!(" -b {bits}"));
    let owner = quote(&format!("{}:{}", request.name, account.group));
    let script = format!(
        "f={file}\n\
         if [ ! -e \"$f\" ] && [ {check} = no ]; then\n\
         d=$(dirname \"$f\"); [ -d \"$d\" ] || {{ mkdir -p \"$d\" && chmod 700 \"$d\" && chown {owner} \"$d\"; }}\n\
         ssh-keygen -q -t {kind}{bits} -N '' -C {comment} -f \"$f\" >/dev/null && chown {owner} \"$f\" \"$f.pub\" || exit 1\n\
         fi\n\
         cat \"$f.pub\" 2>/dev/null; true\n",
        file = quote(&file),
        check = if context.check_mode { "yes" } else { "no" },
        kind = quote(&request.ssh_key_type),
        comment = quote(&comment),
    );
    let output = context.exec(&script, None).await?;
    if !output.success() {
        return Ok(ModuleResult::failed(format!(
            "generating the SSH key {file} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    result = result.with("ssh_key_file", file).with(
        "ssh_public_key",
        String::from_utf8_lossy(&output.stdout).trim().to_owned(),
    );
    Ok(result)
}

fn describe(account: Option<&Account>) -> String {
    account.map_or_else(
        || "absent\n".to_owned(),
        |account| {
            format!(
                "uid={} group={} groups={} home={} shell={}\n",
                account.uid,
                account.group,
                account.groups.iter().cloned().collect::<Vec<_>>().join(","),
                account.home,
                account.shell
            )
        },
    )
}

const USER: &[A] = &[
    A::new("name", Text).aliases(&["user"]).required(),
    A::new("state", Text).choices(&["present", "absent"]),
    A::new("uid", Integer),
    A::new("group", Text),
    A::new("groups", List),
    A::new("append", Bool),
    A::new("shell", Text),
    A::new("home", Text),
    A::new("create_home", Bool).aliases(&["createhome"]),
    A::new("move_home", Bool),
    A::new("system", Bool),
    A::new("comment", Text),
    A::new("password", Text),
    A::new("update_password", Text).choices(&["always", "on_create"]),
    A::new("remove", Bool),
    A::new("force", Bool),
    A::new("generate_ssh_key", Bool),
    A::new("ssh_key_type", Text),
    A::new("ssh_key_bits", Integer),
    A::new("ssh_key_file", Text),
    A::new("ssh_key_comment", Text),
    A::new("non_unique", Bool),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(&["user"], &[USER], run)];

#[cfg(test)]
mod tests {
    use super::{Request, parse, plan};

    fn request() -> Request {
        Request {
            name: "deploy".to_owned(),
            present: true,
            create_home: true,
            update_password_always: true,
            ssh_key_type: "rsa".to_owned(),
            ..Request::default()
        }
    }

    #[test]
    fn a_missing_user_is_created_with_everything_asked() {
        let mut wanted = request();
        wanted.shell = Some("/bin/bash".to_owned());
        wanted.groups = Some(vec!["sudo".to_owned(), "adm".to_owned()]);
        wanted.comment = Some("Deploy user; ok".to_owned());
        assert_eq!(
            plan(&wanted, None).as_deref(),
            Some("useradd -G 'sudo,adm' -s /bin/bash -c 'Deploy user; ok' -m deploy")
        );
    }

    #[test]
    fn an_existing_user_changes_only_what_differs() {
        let account = parse(
            "passwd=deploy:x:1001:1001::/home/deploy:/bin/sh\ngroup=deploy\ngroups=deploy adm\nshadow=*\n",
        )
        .unwrap();
        assert_eq!(account.groups.iter().collect::<Vec<_>>(), ["adm"]);
        let mut wanted = request();
        wanted.groups = Some(vec!["adm".to_owned()]);
        assert_eq!(plan(&wanted, Some(&account)), None);
        wanted.shell = Some("/bin/bash".to_owned());
        wanted.groups = Some(vec!["sudo".to_owned()]);
        wanted.append = true;
        assert_eq!(
            plan(&wanted, Some(&account)).as_deref(),
            Some("usermod -a -G sudo -s /bin/bash deploy")
        );
        wanted.present = false;
        wanted.remove = true;
        assert_eq!(
            plan(&wanted, Some(&account)).as_deref(),
            Some("userdel -r deploy")
        );
        assert_eq!(parse("absent\n"), None);
    }
}
