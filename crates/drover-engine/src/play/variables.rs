//! The variables a play starts with: role defaults and vars, `vars_files`
//! (loaded before any host is touched, so a missing file or a wrong vault
//! password stops the play first), and the magic variables every host
//! shares (`groups`, `play_hosts`, `hostvars` and the like).

use std::path::Path;
use std::sync::Arc;

use drover_inventory::Inventory;
use drover_playbook::Play;
use drover_template::Templar;
use serde_json::{Value as Json, json};

use crate::vars::PlayVars;
use crate::{Error, RunOptions, Vars};

/// What the play's variables are built from.
pub(crate) struct Sources<'a> {
    pub(crate) inventory: &'a Inventory,
    pub(crate) options: &'a RunOptions,
    pub(crate) templar: &'a Templar,
    /// The playbook's directory (`playbook_dir`), where `vars_files` are.
    pub(crate) base: &'a Path,
    /// Where each host's facts and registered results from earlier plays are kept.
    pub(crate) connections: &'a super::connections::Connections,
}

impl Sources<'_> {
    /// `play`'s variables, for the hosts called `names`.
    pub(crate) fn play_vars(&self, play: &Play, names: &[String]) -> Result<PlayVars, Error> {
        let mut role_defaults = Vars::new();
        let mut role_vars = Vars::new();
        for role in &play.roles {
            role_defaults.extend(role.defaults.clone());
            role_vars.extend(role.vars.clone());
        }
        Ok(PlayVars {
            role_defaults: Arc::new(role_defaults),
            play_vars: Arc::new(play.vars.clone()),
            vars_files: Arc::new(self.vars_files(play)?),
            role_vars: Arc::new(role_vars),
            extra_vars: Arc::new(self.options.extra_vars.clone()),
            shared_magic: Arc::new(self.shared_magic(play, names)),
            inventory_hostvars: Arc::new(self.inventory_hostvars()),
        })
    }

    /// The play's `vars_files`, in order, later ones winning.
    fn vars_files(&self, play: &Play) -> Result<Vars, Error> {
        let scope = self.templar.scope(vec![
            Arc::new(play.vars.clone()),
            Arc::new(self.options.extra_vars.clone()),
        ]);
        let mut vars_files = Vars::new();
        for file in &play.vars_files {
            let rendered = self
                .templar
                .render_text(file, &scope)
                .map_err(|error| Error::Play(format!("vars_files `{file}`: {error}")))?;
            let path = self.base.join(rendered.as_str().unwrap_or(file));
            let loaded = drover_inventory::read_vars_file(&path).map_err(|error| {
                let hint = error
                    .hint()
                    .map(|hint| format!("\nhint: {hint}"))
                    .unwrap_or_default();
                Error::Play(format!("vars_files: {error}{hint}"))
            })?;
            vars_files.extend(loaded);
        }
        Ok(vars_files)
    }

    /// The magic variables that describe the run and the play: its name,
    /// roles, tags, forks and limit.
    fn run_magic(&self, play: &Play) -> Vars {
        let options = &self.options;
        let run_tags = if options.tags.is_empty() {
            vec!["all".to_owned()]
        } else {
            options.tags.clone()
        };
        let roles: Vec<&str> = play.roles.iter().map(|role| role.name.as_str()).collect();
        let magic = json!({
            "ansible_play_name": play.name.clone().unwrap_or_else(|| play.hosts.clone()),
            "ansible_run_tags": run_tags,
            "ansible_skip_tags": options.skip_tags,
            "ansible_forks": options.forks.get(),
            "ansible_limit": options.limit,
            "role_names": roles,
            "ansible_role_names": roles,
            "ansible_play_role_names": roles,
        });
        match magic {
            Json::Object(magic) => magic,
            _ => Vars::new(),
        }
    }

    /// The magic variables every host of the play sees alike.
    fn shared_magic(&self, play: &Play, names: &[String]) -> Vars {
        let mut groups = serde_json::Map::new();
        for group in self.inventory.groups() {
            if let Some(id) = self.inventory.group_id(&group.name) {
                let members: Vec<Json> = self
                    .inventory
                    .group_hosts(id)
                    .iter()
                    .map(|host| Json::from(self.inventory.host(*host).name.clone()))
                    .collect();
                groups.insert(group.name.clone(), Json::Array(members));
            }
        }
        let magic = json!({
            "groups": groups,
            "play_hosts": names,
            "ansible_play_hosts": names,
            "ansible_play_hosts_all": names,
            "ansible_check_mode": self.options.check,
            "ansible_diff_mode": self.options.diff,
            "playbook_dir": self.base.display().to_string(),
            "ansible_version": {"full": "2.19.0", "major": 2, "minor": 19, "string": "2.19.0"},
        });
        let Json::Object(mut magic) = magic else {
            return Vars::new();
        };
        magic.extend(self.run_magic(play));
        magic
    }

    /// Every inventory host's variables (with `inventory_hostname` and
    /// `group_names`), by name.
    fn inventory_hostvars(&self) -> Vars {
        let mut all = Vars::new();
        for host in self.inventory.hosts() {
            let Some(id) = self.inventory.host_id(&host.name) else {
                continue;
            };
            let mut vars = self.inventory.host_variables(id);
            // A host outside this play is still seen with what it
            // registered and gathered in earlier plays, as in Ansible.
            if let Some(facts) = self.connections.kept_facts(&host.name) {
                vars.extend(facts);
            }
            vars.insert("inventory_hostname".to_owned(), json!(host.name));
            all.insert(host.name.clone(), Json::Object(vars));
        }
        all
    }
}
