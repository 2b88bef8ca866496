//! `container_image` (and `docker_image`, `podman_image`): an image present
//! on the host, pulled from a registry or loaded from an archive copied
//! from the controller (`docker save` format), or absent.

use bytes::Bytes;
use drover_ssh::quote;

use crate::arguments::Arguments;
use crate::modules::container::{choose_runtime, requested_runtime};
use crate::remote::upload_temporary;
use crate::{Error, ModuleContext, ModuleResult};

pub(crate) async fn run(
    module: &str,
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let name = arguments.required(&["name"])?;
    let present = arguments.string("state")?.as_deref() != Some("absent");
    let force = arguments.boolean("force", false)?;
    let archive = arguments.string("load_path")?;
    let source = arguments
        .string("source")?
        .unwrap_or_else(|| if archive.is_some() { "load" } else { "pull" }.to_owned());
    let runtime = requested_runtime(module, arguments)?;
    let output = context
        .exec(
            &format!(
                "{}\n$rt image inspect --format '{{{{.Id}}}}' {} 2>/dev/null; true",
                choose_runtime(&runtime),
                quote(&name)
            ),
            None,
        )
        .await?;
    let text = String::from_utf8_lossy(&output.stdout);
    let mut lines = text.lines();
    let rt = lines
        .next()
        .and_then(|line| line.strip_prefix("runtime="))
        .unwrap_or_default()
        .trim()
        .to_owned();
    if rt.is_empty() || rt == "none" {
        return Ok(ModuleResult::failed(
            "neither docker nor podman is installed on the host",
        ));
    }
    let exists = lines.next().is_some_and(|id| !id.trim().is_empty());
    let result = ModuleResult::ok()
        .with("runtime", rt.clone())
        .with("image", name.clone());
    let command = match (present, exists, force) {
        (false, false, _) | (true, true, false) => return Ok(result),
        (false, true, _) => format!("{rt} rmi {}", quote(&name)),
        (true, _, _) if source == "load" => {
            let archive = archive
                .ok_or_else(|| Error::Arguments("`source: load` needs `load_path`".to_owned()))?;
            let local = context.find_file(&archive, "files").ok_or_else(|| {
                Error::Arguments(format!(
                    "could not find the image archive `{archive}` on the controller"
                ))
            })?;
            if context.check_mode {
                return Ok(changed(result));
            }
            let data = std::fs::read(&local).map_err(|error| {
                Error::Arguments(format!("cannot read {}: {error}", local.display()))
            })?;
            let path = upload_temporary(context, Bytes::from(data)).await?;
            format!(
                "{rt} load -q -i {path}; status=$?; rm -f {path}; exit $status",
                path = quote(&path)
            )
        }
        (true, _, _) => format!("{rt} pull -q {}", quote(&name)),
    };
    if context.check_mode {
        return Ok(changed(result));
    }
    let output = context.exec(&command, None).await?;
    if !output.success() {
        return Ok(ModuleResult::failed(format!(
            "`{}` failed: {}",
            command
                .split_whitespace()
                .take(2)
                .collect::<Vec<_>>()
                .join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(changed(result))
}

fn changed(mut result: ModuleResult) -> ModuleResult {
    result.changed = true;
    result
}
