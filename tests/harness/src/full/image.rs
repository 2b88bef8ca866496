//! A tiny web application image for container tests, built here with no
//! registry: busybox (from Debian's `busybox-static` package) serving
//! `/index.html` and, when healthy, `/healthz` on port 8080. Written as a
//! `docker save` archive, which both `docker load` and `podman load` read.

use std::path::{Path, PathBuf};

use super::command::{self, Error, Result, run, text, write};

/// Builds `drover/app:VERSION` into `directory/app-vVERSION.tar` (once).
pub fn app_image(directory: &Path, version: u32, healthy: bool) -> Result<PathBuf> {
    let archive = directory.join(format!("app-v{version}.tar"));
    if archive.exists() {
        return Ok(archive);
    }
    let work = directory.join(format!("app-v{version}.build"));
    command::run_quietly("rm", &["-rf", &text(&work)]);
    let root = work.join("root");
    file_tree(&root, version, healthy)?;
    let image = work.join("image");
    command::create_directory(&image)?;
    // Two layers: the programs, the same bytes in every version (so a host
    // that has one version lacks only the top layer of the next), then
    // the version's pages.
    let mut layers = Vec::new();
    for (index, parts) in [&["bin", "tmp"][..], &["www"][..]].iter().enumerate() {
        layers.push(layer(&work, &root, &image, index, parts)?);
    }
    let diff_ids = layers
        .iter()
        .map(|digest| format!("\"sha256:{digest}\""))
        .collect::<Vec<_>>()
        .join(",");
    let layer_paths = layers
        .iter()
        .map(|digest| format!("\"{digest}/layer.tar\""))
        .collect::<Vec<_>>()
        .join(",");
    let config = format!(
        "{{\"architecture\":\"amd64\",\"os\":\"linux\",\"created\":\"1970-01-01T00:00:00Z\",\
         \"config\":{{\"Cmd\":[\"/bin/sh\",\"-c\",\"trap 'kill $! 2>/dev/null; exit 0' TERM; httpd -f -p 8080 -h /www & wait\"],\
         \"Env\":[\"PATH=/bin\",\"APP_VERSION={version}\"],\"ExposedPorts\":{{\"8080/tcp\":{{}}}}}},\
         \"rootfs\":{{\"type\":\"layers\",\"diff_ids\":[{diff_ids}]}}}}"
    );
    let config_file = work.join("config.json");
    write(&config_file, &config)?;
    let config_digest = sha256(&config_file)?;
    std::fs::rename(&config_file, image.join(format!("{config_digest}.json"))).map_err(
        |source| Error::Io {
            path: config_file.clone(),
            source,
        },
    )?;
    let (image_text, archive_text) = (text(&image), text(&archive));
    write(
        &image.join("manifest.json"),
        format!(
            "[{{\"Config\":\"{config_digest}.json\",\"RepoTags\":[\"drover/app:{version}\"],\"Layers\":[{layer_paths}]}}]"
        ),
    )?;
    let config_file = format!("{config_digest}.json");
    let mut members = vec![
        "-C",
        image_text.as_str(),
        "-cf",
        archive_text.as_str(),
        "manifest.json",
    ];
    members.push(&config_file);
    members.extend(layers.iter().map(String::as_str));
    run("tar", &members)?;
    command::run_quietly("rm", &["-rf", &text(&work)]);
    Ok(archive)
}

/// The image's files: busybox and its applets in `/bin`, the page (and
/// the health page, when healthy) in `/www`, and `/tmp`.
fn file_tree(root: &Path, version: u32, healthy: bool) -> Result<()> {
    let busybox = busybox()?;
    for sub in ["bin", "www", "tmp"] {
        command::create_directory(&root.join(sub))?;
    }
    run("cp", &[&text(&busybox), &text(&root.join("bin/busybox"))])?;
    for applet in ["sh", "httpd", "wget", "cat", "sleep", "echo"] {
        std::os::unix::fs::symlink("busybox", root.join("bin").join(applet)).map_err(|source| {
            Error::Io {
                path: root.join("bin").join(applet),
                source,
            }
        })?;
    }
    write(&root.join("www/index.html"), format!("app v{version}\n"))?;
    if healthy {
        write(&root.join("www/healthz"), "ok\n")?;
    }
    Ok(())
}

/// Packs `parts` of `root` into a reproducible layer (same bytes for the
/// same files), stored in `image` under its digest; the digest.
fn layer(work: &Path, root: &Path, image: &Path, index: usize, parts: &[&str]) -> Result<String> {
    let layer = work.join(format!("layer{index}.tar"));
    let mut arguments = vec![
        "--numeric-owner".to_owned(),
        "--owner=0".to_owned(),
        "--group=0".to_owned(),
        "--sort=name".to_owned(),
        "--mtime=@0".to_owned(),
        "-C".to_owned(),
        text(root),
        "-cf".to_owned(),
        text(&layer),
    ];
    arguments.extend(parts.iter().map(|part| (*part).to_owned()));
    let arguments: Vec<&str> = arguments.iter().map(String::as_str).collect();
    run("tar", &arguments)?;
    let digest = sha256(&layer)?;
    command::create_directory(&image.join(&digest))?;
    std::fs::rename(&layer, image.join(&digest).join("layer.tar")).map_err(|source| Error::Io {
        path: layer.clone(),
        source,
    })?;
    Ok(digest)
}

/// The static busybox binary, from Debian's package (downloaded once into the cache).
fn busybox() -> Result<PathBuf> {
    let cache = super::base::cache_directory().join("busybox");
    let binary = cache.join("bin/busybox");
    if binary.exists() {
        return Ok(binary);
    }
    command::create_directory(&cache)?;
    let download = std::process::Command::new("apt-get")
        .args(["download", "-q", "busybox-static"])
        .current_dir(&cache)
        .output()
        .map_err(|source| Error::Io {
            path: PathBuf::from("apt-get"),
            source,
        })?;
    if !download.status.success() {
        return Err(Error::Unsupported(format!(
            "apt-get download busybox-static failed: {}",
            String::from_utf8_lossy(&download.stderr).trim()
        )));
    }
    let package = std::fs::read_dir(&cache)
        .map_err(|source| Error::Io {
            path: cache.clone(),
            source,
        })?
        .flatten()
        .map(|entry| entry.path())
        .find(|path| path.extension().is_some_and(|extension| extension == "deb"))
        .ok_or_else(|| Error::Unsupported("no busybox-static package was downloaded".to_owned()))?;
    run("dpkg-deb", &["-x", &text(&package), &text(&cache)])?;
    Ok(binary)
}

fn sha256(path: &Path) -> Result<String> {
    let output = run("sha256sum", &[&text(path)])?;
    Ok(output
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned())
}
