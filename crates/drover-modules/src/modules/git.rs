//! `git`: a repository cloned into a directory and kept at a version (a
//! branch, tag or commit), fetching only what is needed. Local changes
//! stop an update unless `force`.

use drover_playbook::catalog::{
    ArgumentKind::{Bool, Integer, String as Text},
    ArgumentSpec as A,
};
use drover_ssh::quote;

use super::Module;
use crate::arguments::Arguments;
use crate::remote::output_value;
use crate::{Diff, Error, ModuleContext, ModuleResult};

/// The script: clone when missing, else fetch and move to `version`.
/// `check` only reports what would happen. It prints `before=`, `after=`
/// and an `outcome=` of `cloned`, `updated`, `current`, `local-changes`
/// or `would-change`.
pub(crate) fn script(
    repository: &str,
    dest: &str,
    version: &str,
    options: &Options,
    check: bool,
) -> String {
    let depth = options
        .depth
        .map_or_else(String::new, |depth| format!(" --depth {depth}"));
    let branch_flag = if version == "HEAD" || looks_like_commit(version) {
        String::new()
    } else {
        format!(" --branch {}", quote(version))
    };
    format!(
        "command -v git >/dev/null 2>&1 || {{ echo 'outcome=no-git'; exit 1; }}\n\
         repo={repository}; dest={dest}; version={version}; remote={remote}\n\
         export GIT_TERMINAL_PROMPT=0{ssh}\n\
         if [ ! -e \"$dest/.git\" ] && [ ! -f \"$dest/HEAD\" ]; then\n\
           echo before=\n\
           if [ {check} = yes ]; then echo outcome=would-change; exit 0; fi\n\
           [ {clone} = yes ] || {{ echo outcome=absent; exit 0; }}\n\
           git clone --quiet --origin \"$remote\"{depth}{branch_flag} \"$repo\" \"$dest\" 2>&1 || exit 1\n\
           if [ \"$version\" != HEAD ]; then git -C \"$dest\" checkout --quiet --detach \"$version^{{commit}}\" 2>/dev/null || git -C \"$dest\" checkout --quiet \"$version\" 2>&1 || exit 1; fi\n\
           echo \"after=$(git -C \"$dest\" rev-parse HEAD)\"; echo outcome=cloned; exit 0\n\
         fi\n\
         before=$(git -C \"$dest\" rev-parse HEAD 2>/dev/null); echo \"before=$before\"\n\
         [ {update} = yes ] || {{ echo \"after=$before\"; echo outcome=current; exit 0; }}\n\
         if [ {check} = yes ]; then\n\
           if [ \"$version\" = HEAD ]; then want=$(git ls-remote \"$repo\" HEAD | cut -f1); else want=$(git ls-remote \"$repo\" \"$version\" \"$version^{{}}\" | tail -1 | cut -f1); fi\n\
           [ -n \"$want\" ] || want=$version\n\
           case \"$want\" in \"$before\"*) echo outcome=current;; *) echo outcome=would-change;; esac; echo \"after=$want\"; exit 0\n\
         fi\n\
         git -C \"$dest\" fetch --quiet --tags{depth} \"$remote\" 2>&1 || exit 1\n\
         if [ \"$version\" = HEAD ]; then target=$(git -C \"$dest\" rev-parse --verify -q \"$remote/HEAD^{{commit}}\");\n\
         else target=$(git -C \"$dest\" rev-parse --verify -q \"$remote/$version^{{commit}}\" || git -C \"$dest\" rev-parse --verify -q \"$version^{{commit}}\"); fi\n\
         [ -n \"$target\" ] || {{ echo \"outcome=no-version\"; exit 1; }}\n\
         if [ \"$target\" = \"$before\" ]; then echo \"after=$before\"; echo outcome=current; exit 0; fi\n\
         if [ -n \"$(git -C \"$dest\" status --porcelain --untracked-files=no)\" ] && [ {force} = no ]; then echo outcome=local-changes; exit 1; fi\n\
         if git -C \"$dest\" show-ref --verify -q \"refs/remotes/$remote/$version\"; then\n\
           git -C \"$dest\" checkout --quiet --force -B \"$version\" \"$target\" 2>&1 || exit 1\n\
         else git -C \"$dest\" checkout --quiet --force --detach \"$target\" 2>&1 || exit 1; fi\n\
         echo \"after=$(git -C \"$dest\" rev-parse HEAD)\"; echo outcome=updated\n",
        repository = quote(repository),
        dest = quote(dest),
        version = quote(version),
        remote = quote(&options.remote),
        ssh = if options.accept_hostkey {
            "; export GIT_SSH_COMMAND='ssh -o StrictHostKeyChecking=accept-new'"
        } else {
            ""
        },
        check = yes(check),
        clone = yes(options.clone),
        update = yes(options.update),
        force = yes(options.force),
    )
}

fn yes(flag: bool) -> &'static str {
    if flag { "yes" } else { "no" }
}

fn looks_like_commit(version: &str) -> bool {
    (7..=40).contains(&version.len()) && version.chars().all(|c| c.is_ascii_hexdigit())
}

/// The switches of a `git` task.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) remote: String,
    pub(crate) depth: Option<u64>,
    pub(crate) clone: bool,
    pub(crate) update: bool,
    pub(crate) force: bool,
    pub(crate) accept_hostkey: bool,
}

impl Options {
    fn read(arguments: &Arguments<'_>) -> Result<Self, Error> {
        Ok(Self {
            remote: arguments
                .string("remote")?
                .unwrap_or_else(|| "origin".to_owned()),
            depth: arguments.unsigned("depth")?,
            clone: arguments.boolean("clone", true)?,
            update: arguments.boolean("update", true)?,
            force: arguments.boolean("force", false)?,
            accept_hostkey: arguments.boolean("accept_hostkey", false)?,
        })
    }
}

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let repository = arguments.required("repo")?;
    let dest = arguments.required("dest")?;
    let version = arguments
        .string("version")?
        .unwrap_or_else(|| "HEAD".to_owned());
    let options = Options::read(arguments)?;
    let output = context
        .exec(
            &script(&repository, &dest, &version, &options, context.check_mode),
            None,
        )
        .await?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let value = |key: &str| output_value(&stdout, key);
    let (before, after, outcome) = (value("before"), value("after"), value("outcome"));
    if !output.success() {
        let reason = match outcome.as_str() {
            "no-git" => "git is not installed on the host".to_owned(),
            "local-changes" => {
                format!("Local modifications exist in the repository at {dest} (force=no)")
            }
            "no-version" => format!("version `{version}` does not exist in {repository}"),
            _ => format!(
                "git failed: {}",
                stdout
                    .lines()
                    .filter(|line| !line.contains('='))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
        };
        return Ok(ModuleResult::failed(reason).with("before", before));
    }
    let changed = matches!(outcome.as_str(), "cloned" | "updated" | "would-change");
    let before_value = if before.is_empty() {
        serde_json::Value::Null
    } else {
        before.clone().into()
    };
    Ok(if changed {
        ModuleResult::changed()
    } else {
        ModuleResult::ok()
    }
    .with("before", before_value)
    .with("after", after.clone())
    .with_diff(
        context.diff && changed,
        Diff::of_file(&dest, format!("{before}\n"), format!("{after}\n")),
    ))
}

const GIT: &[A] = &[
    A::new("repo", Text)
        .aliases(&["name", "repository"])
        .required(),
    A::new("dest", Text).required(),
    A::new("version", Text),
    A::new("remote", Text),
    A::new("depth", Integer),
    A::new("clone", Bool),
    A::new("update", Bool),
    A::new("force", Bool),
    A::new("accept_hostkey", Bool),
    A::new("single_branch", Bool),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(&["git"], &[GIT], run)];

#[cfg(test)]
mod tests {
    use super::{Options, looks_like_commit, script};

    #[test]
    fn the_script_quotes_its_inputs_and_honours_check_mode() {
        let options = Options {
            remote: "origin".to_owned(),
            depth: Some(1),
            clone: true,
            update: true,
            force: false,
            accept_hostkey: false,
        };
        let text = script(
            "https://example.invalid/r.git",
            "/srv/app dir",
            "v1.0",
            &options,
            false,
        );
        assert!(text.contains("dest='/srv/app dir'"));
        assert!(text.contains("--depth 1 --branch v1.0"));
        let check = script("/srv/repo.git", "/srv/app", "main", &options, true);
        assert!(check.contains("if [ yes = yes ]; then echo outcome=would-change"));
        assert!(looks_like_commit("3f9a2c1"));
        assert!(!looks_like_commit("main"));
    }
}
