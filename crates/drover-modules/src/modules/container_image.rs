//! `container_image` (and `docker_image`, `podman_image`): an image present
//! on the host, or absent. It comes from a registry (`source: pull`), from
//! an archive on the controller (`source: load`, `load_path`, in `docker
//! save` format), or from the controller's own docker or podman image store
//! (`source: engine`), or it is built on the host from a directory there
//! (`source: build`, as community.docker's `docker_image`).
//!
//! From an archive or the controller's store, no registry is involved:
//! drover serves the image itself, as a read-only registry reached through
//! a port forwarded over the host's SSH connection (`crate::registry`), and
//! the host's engine pulls it from `127.0.0.1:PORT`. The engine asks only
//! for the layers it lacks, so a release that changes one layer sends one
//! layer. Where the SSH server will not forward a port, the whole archive
//! is copied and loaded instead.

use std::fmt::Write as _;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use drover_playbook::catalog::{
    ArgumentKind::{Bool, String as Text},
    ArgumentSpec as A,
};
use drover_ssh::quote;

use super::Module;
use crate::arguments::Arguments;
use crate::image_archive::{ArchivedImage, ImageArchive};
use crate::modules::container::{choose_runtime, requested_runtime};
use crate::registry::{Sent, serve};
use crate::remote::upload_temporary;
use crate::{Error, ModuleContext, ModuleResult};

/// What the host has: its engine, and the id of the image by that name.
struct OnHost {
    runtime: String,
    image_id: Option<String>,
}

async fn on_host(context: &ModuleContext<'_>, runtime: &str, name: &str) -> Result<OnHost, Error> {
    let output = context
        .exec(
            &format!(
                "{}\n$rt image inspect --format '{{{{.Id}}}}' {} 2>/dev/null; true",
                choose_runtime(runtime),
                quote(name)
            ),
            None,
        )
        .await?;
    let text = String::from_utf8_lossy(&output.stdout);
    let mut lines = text.lines();
    let runtime = lines
        .next()
        .and_then(|line| line.strip_prefix("runtime="))
        .unwrap_or_default()
        .trim()
        .to_owned();
    let image_id = lines
        .next()
        .map(|id| id.trim().trim_start_matches("sha256:").to_owned())
        .filter(|id| !id.is_empty());
    Ok(OnHost { runtime, image_id })
}

pub(crate) async fn run(
    module: &str,
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let name = arguments.required("name")?;
    let present = arguments.present()?;
    let force = arguments.boolean("force", false)? || arguments.boolean("force_source", false)?;
    let source = source_of(arguments)?;
    // The archive is read and checked before the host is asked anything: a
    // corrupt one changes nothing anywhere.
    let archive = if present {
        archive(arguments, context, &name).await?
    } else {
        None
    };
    let host = on_host(context, &requested_runtime(module, arguments)?, &name).await?;
    let rt = host.runtime.clone();
    if rt.is_empty() || rt == "none" {
        return Ok(ModuleResult::failed(
            "neither docker nor podman is installed on the host",
        ));
    }
    let mut result = ModuleResult::ok()
        .with("runtime", rt.clone())
        .with("image", name.clone());
    // From an archive, the image is up to date when the host's has the
    // archive's id; from a registry, when the host has one by that name.
    let there = match &archive {
        Some((_, image)) => {
            host.image_id.as_deref() == Some(image.config_digest.trim_start_matches("sha256:"))
        }
        None => host.image_id.is_some(),
    };
    let wanted = if present { !there || force } else { there };
    if !wanted {
        return Ok(result);
    }
    result.changed = true;
    if context.check_mode {
        return Ok(result);
    }
    let outcome = match (present, archive) {
        (false, _) => command(context, &format!("{rt} rmi {}", quote(&name))).await?,
        (true, Some((archive, image))) => {
            match push(context, &rt, &name, archive.clone(), image).await? {
                Pushed::Sent(sent) => {
                    result = result
                        .with("bytes_sent", sent.bytes.load(Ordering::Relaxed))
                        .with("blobs_sent", sent.blobs.load(Ordering::Relaxed));
                    None
                }
                Pushed::Failed(message) => Some(message),
                Pushed::NoForwarding => load_whole(context, &rt, &archive).await?,
            }
        }
        (true, None) if source == "build" => build(arguments, context, &rt, &name).await?,
        (true, None) if source == "local" => Some(format!("there is no image {name} on the host")),
        (true, None) => command(context, &format!("{rt} pull -q {}", quote(&name))).await?,
    };
    match outcome {
        Some(message) => Ok(ModuleResult::failed(message)),
        None => Ok(result),
    }
}

/// The archive the image comes from (`source: load` or `engine`), opened
/// and checked, with the image in it; `None` for `source: pull`.
async fn archive(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
    name: &str,
) -> Result<Option<(Arc<ImageArchive>, ArchivedImage)>, Error> {
    let archive_path = arguments.string("load_path")?;
    let opened = match source_of(arguments)?.as_str() {
        "load" => {
            let archive = archive_path
                .ok_or_else(|| Error::Arguments("`source: load` needs `load_path`".to_owned()))?;
            let local = context.find_file(&archive, "files").ok_or_else(|| {
                Error::Arguments(format!(
                    "could not find the image archive `{archive}` on the controller"
                ))
            })?;
            ImageArchive::open(&local).await?
        }
        "engine" => controller_archive(arguments, name).await?,
        _ => return Ok(None),
    };
    let image = opened.image(name)?.clone();
    Ok(Some((opened, image)))
}

/// Where the image comes from: `source`, or `load` when there is a
/// `load_path`, or `pull`.
fn source_of(arguments: &Arguments<'_>) -> Result<String, Error> {
    let default = if arguments.string("load_path")?.is_some() {
        "load"
    } else {
        "pull"
    };
    Ok(arguments
        .string("source")?
        .unwrap_or_else(|| default.to_owned()))
}

/// `source: build`: the image built on the host from `build.path` (a
/// directory there), with `build.dockerfile`, `build.args` and `build.pull`.
async fn build(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
    rt: &str,
    name: &str,
) -> Result<Option<String>, Error> {
    let build = arguments.raw("build").cloned().unwrap_or_default();
    let Some(path) = build["path"].as_str() else {
        return Err(Error::Arguments(
            "`source: build` needs `build.path`".to_owned(),
        ));
    };
    let mut line = format!("{rt} build -q -t {}", quote(name));
    if let Some(file) = build["dockerfile"].as_str() {
        let _ = write!(line, " -f {}", quote(&format!("{path}/{file}")));
    }
    if let Some(values) = build["args"].as_object() {
        for (key, value) in values {
            let value = value
                .as_str()
                .map_or_else(|| value.to_string(), str::to_owned);
            let _ = write!(line, " --build-arg {}", quote(&format!("{key}={value}")));
        }
    }
    if build["pull"].as_bool() == Some(true) {
        line.push_str(" --pull");
    }
    line.push(' ');
    line.push_str(&quote(path));
    command(context, &line).await
}

/// Runs `line`; its failure, as a message.
async fn command(context: &ModuleContext<'_>, line: &str) -> Result<Option<String>, Error> {
    let output = context.exec(line, None).await?;
    if output.success() {
        return Ok(None);
    }
    Ok(Some(format!(
        "`{}` failed: {}",
        line.split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" "),
        String::from_utf8_lossy(&output.stderr).trim()
    )))
}

/// How a push through the forwarded port went.
enum Pushed {
    Sent(Arc<Sent>),
    Failed(String),
    /// The SSH server would not forward a port.
    NoForwarding,
}

/// Serves `image` to the host through a forwarded port while the host's
/// engine pulls it, then names it `name` there.
async fn push(
    context: &ModuleContext<'_>,
    rt: &str,
    name: &str,
    archive: Arc<ImageArchive>,
    image: ArchivedImage,
) -> Result<Pushed, Error> {
    let forward = match context.session.forward_to_controller().await {
        Ok(forward) => forward,
        Err(error) if error.is_unreachable() => return Err(error.into()),
        Err(error) => {
            tracing::debug!(%error, "no forwarded port; copying the whole archive");
            return Ok(Pushed::NoForwarding);
        }
    };
    let port = forward.port;
    let sent = Arc::new(Sent::default());
    let serving = serve(forward, archive, image.clone(), sent.clone());
    let script = pull_script(rt, name, port, &image.config_digest);
    let pulled = tokio::select! {
        output = context.exec(&script, None) => output?,
        () = serving => return Ok(Pushed::Failed("the connection to the host closed".to_owned())),
    };
    if pulled.success() {
        return Ok(Pushed::Sent(sent));
    }
    Ok(Pushed::Failed(format!(
        "the host could not pull {name} from drover: {}",
        String::from_utf8_lossy(&pulled.stderr).trim()
    )))
}

/// Pulls from the forwarded port, names the image `name`, drops the
/// temporary name, and checks the id is the archive's.
fn pull_script(rt: &str, name: &str, port: u16, config_digest: &str) -> String {
    let path = name.split('@').next().unwrap_or(name);
    let last = path.rsplit('/').next().unwrap_or(path);
    let repository = if last.contains(':') {
        path.rsplit_once(':')
            .map_or(path, |(repository, _)| repository)
    } else {
        path
    };
    // A name the host can pull without a registry's host name in it.
    let repository = repository.rsplit('/').take(2).collect::<Vec<_>>();
    let repository: Vec<&str> = repository.into_iter().rev().collect();
    let temporary = quote(&format!(
        "127.0.0.1:{port}/{}:drover-push",
        repository.join("/").to_lowercase()
    ));
    let insecure = if rt == "podman" {
        " --tls-verify=false"
    } else {
        ""
    };
    let id = config_digest.trim_start_matches("sha256:");
    format!(
        "{rt} pull -q{insecure} {temporary} >/dev/null || exit 1\n\
         {rt} tag {temporary} {name} || exit 1\n\
         {rt} rmi {temporary} >/dev/null 2>&1\n\
         id=$({rt} image inspect --format '{{{{.Id}}}}' {name})\n\
         case \"$id\" in *{id}) ;; *) echo \"the pulled image has id $id, not {id}\" >&2; exit 1;; esac",
        name = quote(name),
    )
}

/// The fallback: copies the whole archive and loads it.
async fn load_whole(
    context: &ModuleContext<'_>,
    rt: &str,
    archive: &ImageArchive,
) -> Result<Option<String>, Error> {
    let remote = upload_temporary(context, archive.whole().await?).await?;
    command(
        context,
        &format!(
            "{rt} load -q -i {path}; status=$?; rm -f {path}; exit $status",
            path = quote(&remote)
        ),
    )
    .await
}

/// Images saved from the controller's engine in this run, by engine and name.
type Saved = tokio::sync::Mutex<HashMap<(String, String), Arc<ImageArchive>>>;

/// `source: engine`: the image saved from the controller's docker or
/// podman (`controller_runtime`, else whichever has it), once per run
/// whatever the number of hosts. The saved file is read through a handle
/// kept open and deleted at once, so nothing is left behind.
async fn controller_archive(
    arguments: &Arguments<'_>,
    name: &str,
) -> Result<Arc<ImageArchive>, Error> {
    static SAVED: std::sync::OnceLock<Saved> = std::sync::OnceLock::new();
    let wanted = arguments
        .string("controller_runtime")?
        .unwrap_or_else(|| "auto".to_owned());
    let runtime = match wanted.as_str() {
        "docker" | "podman" => wanted,
        _ => ["docker", "podman"]
            .into_iter()
            .find(|candidate| {
                std::process::Command::new(candidate)
                    .args(["image", "inspect", name])
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .status()
                    .is_ok_and(|status| status.success())
            })
            .ok_or_else(|| {
                Error::Arguments(format!(
                    "neither docker nor podman on the controller has the image {name}"
                ))
            })?
            .to_owned(),
    };
    let mut saved = SAVED.get_or_init(Saved::default).lock().await;
    let key = (runtime.clone(), name.to_owned());
    if let Some(archive) = saved.get(&key) {
        return Ok(archive.clone());
    }
    let file = std::env::temp_dir().join(format!(
        ".drover-image-{}-{}.tar",
        std::process::id(),
        saved.len()
    ));
    let mut save = tokio::process::Command::new(&runtime);
    save.arg("save").arg("-o").arg(&file);
    if runtime == "podman" {
        save.args(["--format", "docker-archive"]);
    }
    let output = save.arg(name).output().await.map_err(|error| {
        Error::Arguments(format!("cannot run {runtime} on the controller: {error}"))
    });
    let opened = match output {
        Ok(output) if output.status.success() => ImageArchive::open(&file).await,
        Ok(output) => Err(Error::Arguments(format!(
            "`{runtime} save {name}` failed on the controller: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ))),
        Err(error) => Err(error),
    };
    let _ = std::fs::remove_file(&file);
    let archive = opened?;
    saved.insert(key, archive.clone());
    Ok(archive)
}

const CONTAINER_IMAGE: &[A] = &[
    A::new("name", Text).required(),
    A::new("state", Text).choices(&["present", "absent"]),
    A::new("source", Text).choices(&["pull", "load", "engine", "build", "local"]),
    A::new("build", drover_playbook::catalog::ArgumentKind::Dict),
    A::new("force_source", Bool),
    A::new("load_path", Text),
    A::new("controller_runtime", Text).choices(&["docker", "podman", "auto"]),
    A::new("force", Bool),
    A::new("runtime", Text).choices(&["docker", "podman", "auto"]),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] =
    &[module!(&["container_image", "docker_image", "podman_image"], &[CONTAINER_IMAGE], named run)];

#[cfg(test)]
mod tests {
    use super::pull_script;

    #[test]
    fn the_host_pulls_from_the_forwarded_port_and_keeps_the_name() {
        let script = pull_script("podman", "drover/app:2", 40123, "sha256:abc");
        assert!(
            script.starts_with(
                "podman pull -q --tls-verify=false 127.0.0.1:40123/drover/app:drover-push"
            ),
            "{script}"
        );
        assert!(
            script.contains("podman tag 127.0.0.1:40123/drover/app:drover-push drover/app:2"),
            "{script}"
        );
        assert!(script.contains("*abc)"), "{script}");
        let docker = pull_script("docker", "registry.example:5000/team/app", 1, "sha256:f");
        assert!(
            docker.contains("127.0.0.1:1/team/app:drover-push"),
            "{docker}"
        );
        assert!(!docker.contains("tls-verify"), "{docker}");
    }
}
