//! `modprobe`: a kernel module loaded (with its parameters) or unloaded,
//! and, with `persistent`, loaded at boot through `/etc/modules-load.d`
//! and `/etc/modprobe.d`, as community.general's module does.

use std::fmt::Write as _;

use drover_playbook::catalog::{ArgumentKind::String as Text, ArgumentSpec as A};
use drover_ssh::quote;

use super::Module;
use crate::arguments::Arguments;
use crate::remote::change;
use crate::{Error, ModuleContext, ModuleResult};

/// The files `persistent` keeps, and what each holds when present.
fn persistent_files(name: &str, parameters: &str) -> [(String, String); 2] {
    let options = if parameters.is_empty() {
        String::new()
    } else {
        format!("options {name} {parameters}\n")
    };
    [
        (
            format!("/etc/modules-load.d/{name}.conf"),
            format!("{name}\n"),
        ),
        (format!("/etc/modprobe.d/{name}.conf"), options),
    ]
}

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let name = arguments.required("name")?;
    let parameters = arguments.string("params")?.unwrap_or_default();
    let present = arguments.present()?;
    let persistent = arguments
        .string("persistent")?
        .unwrap_or_else(|| "disabled".to_owned());
    let kernel_name = name.replace('-', "_");
    let files = persistent_files(&name, &parameters);
    let mut query = format!(
        "if grep -q \"^{kernel_name} \" /proc/modules || [ -d /sys/module/{kernel_name} ]; then echo loaded; fi\n"
    );
    for (index, (path, _)) in files.iter().enumerate() {
        let _ = writeln!(query, "echo '## {index}'; cat {} 2>/dev/null", quote(path));
    }
    let output = context.exec_read_only(&query).await?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let loaded = stdout.lines().next() == Some("loaded");
    let mut commands = Vec::new();
    if loaded != present {
        commands.push(if present {
            let mut command = format!("modprobe {}", quote(&name));
            for word in shlex::split(&parameters).unwrap_or_default() {
                command.push(' ');
                command.push_str(&quote(&word));
            }
            command
        } else {
            format!("modprobe -r {}", quote(&name))
        });
    }
    if persistent != "disabled" {
        let keep = persistent == "present";
        for (index, (path, content)) in files.iter().enumerate() {
            let current = stdout
                .split(&format!("## {index}\n"))
                .nth(1)
                .map(|rest| rest.split("## ").next().unwrap_or_default())
                .unwrap_or_default();
            let wanted = if keep { content.as_str() } else { "" };
            if current != wanted {
                commands.push(if wanted.is_empty() {
                    format!("rm -f {}", quote(path))
                } else {
                    format!(
                        "mkdir -p \"$(dirname {0})\" && printf '%s' {1} > {0}.drover-tmp && mv {0}.drover-tmp {0}",
                        quote(path),
                        quote(wanted)
                    )
                });
            }
        }
    }
    let script = (!commands.is_empty()).then(|| commands.join(" && "));
    let what = format!("changing the module {name}");
    Ok(change(context, script, &what).await?.with("name", name))
}

const MODPROBE: &[A] = &[
    A::new("name", Text).required(),
    A::new("state", Text).choices(&["present", "absent"]),
    A::new("params", Text),
    A::new("persistent", Text).choices(&["disabled", "present", "absent"]),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(&["modprobe"], &[MODPROBE], run)];

#[cfg(test)]
mod tests {
    use super::persistent_files;

    #[test]
    fn options_are_kept_only_when_there_are_parameters() {
        let [load, options] = persistent_files("br_netfilter", "");
        assert_eq!(
            load,
            (
                "/etc/modules-load.d/br_netfilter.conf".to_owned(),
                "br_netfilter\n".to_owned()
            )
        );
        assert_eq!(options.1, "");
        let [_, options] = persistent_files("dummy", "numdummies=2");
        assert_eq!(options.1, "options dummy numdummies=2\n");
    }
}
