//! An image archive (`docker save` or `podman save` format) read on the
//! controller: its images, each as a registry manifest, and where each
//! blob (configuration or layer) lies in the file.
//!
//! The archive is read once per run, whatever the number of hosts: one
//! pass indexes every entry and checks every layer against the digest its
//! image's configuration names, so a corrupt or truncated archive is
//! refused before any host is touched. A blob's bytes are read from the
//! file the first time a host asks for them and shared with every other
//! host after that.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use serde_json::{Value as Json, json};
use sha2::{Digest as _, Sha256};

use crate::Error;

/// OCI media types: layers are served as they lie in the archive.
const MANIFEST_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
const CONFIG_TYPE: &str = "application/vnd.oci.image.config.v1+json";
const LAYER_TYPE: &str = "application/vnd.oci.image.layer.v1.tar";
const GZIP_LAYER_TYPE: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

/// Where a blob lies in the archive.
#[derive(Debug)]
pub(crate) struct Blob {
    offset: u64,
    pub(crate) size: u64,
    /// Its bytes, once a host has asked for them.
    data: tokio::sync::OnceCell<Bytes>,
}

/// One image of the archive.
#[derive(Debug, Clone)]
pub(crate) struct ArchivedImage {
    /// `RepoTags` (`drover/app:2`).
    pub(crate) tags: Vec<String>,
    /// `sha256:…` of the configuration: the image's id on the host.
    pub(crate) config_digest: String,
    /// The registry manifest (OCI), and its digest.
    pub(crate) manifest: Bytes,
    pub(crate) manifest_digest: String,
    /// Every blob digest the image is made of: configuration, then layers.
    pub(crate) blobs: Vec<String>,
}

/// An indexed, verified archive.
#[derive(Debug)]
pub(crate) struct ImageArchive {
    path: PathBuf,
    /// Kept open: blobs are read through it, even once the file is gone
    /// (an image saved from the controller's engine is deleted at once).
    file: Arc<std::fs::File>,
    pub(crate) images: Vec<ArchivedImage>,
    blobs: HashMap<String, Blob>,
}

/// A file entry of the tar stream: its place, size and digest.
struct Entry {
    offset: u64,
    size: u64,
    digest: String,
    /// The first two bytes, to tell a gzip layer.
    gzip: bool,
}

type Cache = Mutex<HashMap<(PathBuf, u64, std::time::SystemTime), Arc<ImageArchive>>>;

/// Archives read so far in this process, by path, size and time.
fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(Cache::default)
}

/// Guards the first read of each archive, so hosts that ask together wait
/// for one read instead of each reading it.
static READING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

impl ImageArchive {
    /// Opens (once per process) and verifies the archive at `path`.
    pub(crate) async fn open(path: &Path) -> Result<Arc<Self>, Error> {
        let metadata = std::fs::metadata(path).map_err(|error| {
            Error::Arguments(format!("cannot read {}: {error}", path.display()))
        })?;
        let key = (
            path.to_path_buf(),
            metadata.len(),
            metadata.modified().unwrap_or(std::time::UNIX_EPOCH),
        );
        let _reading = READING.lock().await;
        if let Some(archive) = cache()
            .lock()
            .ok()
            .and_then(|cache| cache.get(&key).cloned())
        {
            return Ok(archive);
        }
        let owned = path.to_path_buf();
        let archive = tokio::task::spawn_blocking(move || Self::read(&owned))
            .await
            .map_err(|error| Error::Arguments(format!("reading the archive stopped: {error}")))??;
        let archive = Arc::new(archive);
        if let Ok(mut cache) = cache().lock() {
            cache.insert(key, archive.clone());
        }
        Ok(archive)
    }

    fn read(path: &Path) -> Result<Self, Error> {
        let corrupt = |reason: String| {
            Error::Arguments(format!(
                "the image archive {} is corrupt or truncated: {reason}",
                path.display()
            ))
        };
        let unreadable = |error: std::io::Error| {
            Error::Arguments(format!("cannot read {}: {error}", path.display()))
        };
        let file = std::fs::File::open(path).map_err(unreadable)?;
        let entries = index(file.try_clone().map_err(unreadable)?)
            .map_err(|error| corrupt(error.to_string()))?;
        let manifest = entries.get("manifest.json").ok_or_else(|| {
            corrupt("it has no manifest.json (is it a `docker save` archive?)".to_owned())
        })?;
        let manifest: Json =
            serde_json::from_slice(&read_range(&file, manifest.offset, manifest.size)?)
                .map_err(|error| corrupt(format!("manifest.json: {error}")))?;
        let mut images = Vec::new();
        let mut blobs = HashMap::new();
        for image in manifest.as_array().into_iter().flatten() {
            let (image, image_blobs) = archived_image(&file, image, &entries).map_err(corrupt)?;
            blobs.extend(image_blobs);
            images.push(image);
        }
        if images.is_empty() {
            return Err(corrupt("its manifest.json names no image".to_owned()));
        }
        Ok(Self {
            path: path.to_path_buf(),
            file: Arc::new(file),
            images,
            blobs,
        })
    }

    /// The whole archive, for a host that must load it whole.
    pub(crate) async fn whole(&self) -> Result<Bytes, Error> {
        let file = self.file.clone();
        let size = file
            .metadata()
            .map_err(|error| {
                Error::Arguments(format!("cannot read {}: {error}", self.path.display()))
            })?
            .len();
        tokio::task::spawn_blocking(move || read_range(&file, 0, size).map(Bytes::from))
            .await
            .map_err(|error| Error::Arguments(format!("reading the archive stopped: {error}")))?
    }

    /// The image called `name` (`repo:tag`; `:latest` when no tag), or the
    /// only one when the archive holds one image with no tag.
    pub(crate) fn image(&self, name: &str) -> Result<&ArchivedImage, Error> {
        let wanted = with_tag(name);
        self.images
            .iter()
            .find(|image| image.tags.iter().any(|tag| with_tag(tag) == wanted))
            .or_else(|| {
                (self.images.len() == 1 && self.images[0].tags.is_empty()).then(|| &self.images[0])
            })
            .ok_or_else(|| {
                let tags: Vec<&str> = self
                    .images
                    .iter()
                    .flat_map(|image| image.tags.iter().map(String::as_str))
                    .collect();
                Error::Arguments(format!(
                    "{} holds no image called {name} (it holds: {})",
                    self.path.display(),
                    if tags.is_empty() {
                        "untagged images".to_owned()
                    } else {
                        tags.join(", ")
                    }
                ))
            })
    }

    /// A blob's size, if the archive has it.
    pub(crate) fn blob_size(&self, digest: &str) -> Option<u64> {
        self.blobs.get(digest).map(|blob| blob.size)
    }

    /// A blob's bytes, read from the file the first time any host asks.
    pub(crate) async fn blob(&self, digest: &str) -> Result<Bytes, Error> {
        let blob = self
            .blobs
            .get(digest)
            .ok_or_else(|| Error::Arguments(format!("no blob {digest}")))?;
        let file = self.file.clone();
        let (offset, size) = (blob.offset, blob.size);
        blob.data
            .get_or_try_init(|| async move {
                tokio::task::spawn_blocking(move || {
                    read_range(&file, offset, size).map(Bytes::from)
                })
                .await
                .map_err(|error| Error::Arguments(format!("reading a blob stopped: {error}")))?
            })
            .await
            .cloned()
    }
}

/// `name` with `:latest` when it names no tag (or digest), and without the
/// registry an engine puts before local or Docker Hub names (podman calls
/// `drover/app` `localhost/drover/app`).
fn with_tag(name: &str) -> String {
    let name = ["localhost/", "docker.io/library/", "docker.io/"]
        .iter()
        .find_map(|prefix| name.strip_prefix(prefix))
        .unwrap_or(name);
    let last = name.rsplit('/').next().unwrap_or(name);
    if last.contains(':') || last.contains('@') {
        name.to_owned()
    } else {
        format!("{name}:latest")
    }
}

/// Every file of the tar stream (links resolved to what they point at),
/// each hashed as it is read.
fn index(file: std::fs::File) -> std::io::Result<HashMap<String, Entry>> {
    let mut archive = tar::Archive::new(std::io::BufReader::new(file));
    let mut entries = HashMap::new();
    let mut links = Vec::new();
    for entry in archive.entries()? {
        let mut entry = entry?;
        let name = normalize(&entry.path()?.to_string_lossy());
        let kind = entry.header().entry_type();
        if kind.is_symlink() || kind.is_hard_link() {
            if let Some(target) = entry.link_name()? {
                let target = target.to_string_lossy().into_owned();
                let target = if kind.is_symlink() {
                    resolve(&name, &target)
                } else {
                    normalize(&target)
                };
                links.push((name, target));
            }
            continue;
        }
        if !kind.is_file() {
            continue;
        }
        let offset = entry.raw_file_position();
        let size = entry.size();
        let (digest, gzip) = hash(&mut entry, &name, size)?;
        entries.insert(
            name,
            Entry {
                offset,
                size,
                digest,
                gzip,
            },
        );
    }
    for (name, target) in links {
        if let Some(entry) = entries.get(&target) {
            let copy = Entry {
                offset: entry.offset,
                size: entry.size,
                digest: entry.digest.clone(),
                gzip: entry.gzip,
            };
            entries.insert(name, copy);
        }
    }
    Ok(entries)
}

/// The `sha256:` digest of an entry's bytes, and whether they start as
/// gzip does; an entry that ends early is an error.
fn hash(entry: &mut impl std::io::Read, name: &str, size: u64) -> std::io::Result<(String, bool)> {
    let mut hasher = Sha256::new();
    let mut first = [0_u8; 2];
    let mut buffer = vec![0_u8; 64 * 1024];
    let mut read_total = 0_u64;
    loop {
        let read = entry.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        if read_total == 0 && read >= 2 {
            first.copy_from_slice(&buffer[..2]);
        }
        read_total += read as u64;
        hasher.update(&buffer[..read]);
    }
    if read_total != size {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            format!("{name} ends after {read_total} of its {size} bytes"),
        ));
    }
    Ok((
        format!("sha256:{}", hex::encode(hasher.finalize())),
        first == [0x1f, 0x8b],
    ))
}

/// A path without `./` and trailing `/`.
fn normalize(path: &str) -> String {
    path.trim_start_matches("./")
        .trim_end_matches('/')
        .to_owned()
}

/// A symbolic link's target, relative to the link's directory.
fn resolve(link: &str, target: &str) -> String {
    let mut parts: Vec<&str> = link.split('/').collect();
    parts.pop();
    for part in target.split('/') {
        match part {
            ".." => {
                parts.pop();
            }
            "." | "" => {}
            other => parts.push(other),
        }
    }
    parts.join("/")
}

fn read_range(file: &std::fs::File, offset: u64, size: u64) -> Result<Vec<u8>, Error> {
    use std::os::unix::fs::FileExt as _;
    let mut data = vec![0; usize::try_from(size).unwrap_or(usize::MAX)];
    file.read_exact_at(&mut data, offset)
        .map_err(|error| Error::Arguments(format!("cannot read the image archive: {error}")))?;
    Ok(data)
}

/// One `manifest.json` entry as a registry manifest, with its blobs;
/// every layer checked against the digest the configuration names.
fn archived_image(
    file: &std::fs::File,
    image: &Json,
    entries: &HashMap<String, Entry>,
) -> Result<(ArchivedImage, Vec<(String, Blob)>), String> {
    let find = |name: &str| {
        entries
            .get(&normalize(name))
            .ok_or_else(|| format!("manifest.json names {name}, which is not in the archive"))
    };
    let config_name = image["Config"]
        .as_str()
        .ok_or("a manifest.json entry has no Config")?;
    let config_entry = find(config_name)?;
    let config: Json = serde_json::from_slice(
        &read_range(file, config_entry.offset, config_entry.size)
            .map_err(|error| error.to_string())?,
    )
    .map_err(|error| format!("{config_name}: {error}"))?;
    let layer_names: Vec<&str> = image["Layers"]
        .as_array()
        .map(|layers| layers.iter().filter_map(Json::as_str).collect())
        .unwrap_or_default();
    let mut blobs = vec![blob(&config_entry.digest, config_entry)];
    let mut layers = Vec::new();
    for entry in checked_layers(config_name, &config, &layer_names, entries)? {
        let media_type = if entry.gzip {
            GZIP_LAYER_TYPE
        } else {
            LAYER_TYPE
        };
        layers.push(json!({"mediaType": media_type, "digest": entry.digest, "size": entry.size}));
        blobs.push(blob(&entry.digest, entry));
    }
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": {"mediaType": CONFIG_TYPE, "digest": config_entry.digest, "size": config_entry.size},
        "layers": layers,
    });
    let manifest = Bytes::from(manifest.to_string());
    let manifest_digest = format!("sha256:{}", hex::encode(Sha256::digest(&manifest)));
    let tags = image["RepoTags"]
        .as_array()
        .map(|tags| {
            tags.iter()
                .filter_map(Json::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let image = ArchivedImage {
        tags,
        config_digest: config_entry.digest.clone(),
        manifest,
        manifest_digest,
        blobs: blobs.iter().map(|(digest, _)| digest.clone()).collect(),
    };
    Ok((image, blobs))
}

/// The image's layers, each checked against the digest its configuration
/// names for it (a gzip layer's digest is of its uncompressed bytes, which
/// are not read here).
fn checked_layers<'a>(
    config_name: &str,
    config: &Json,
    layer_names: &[&str],
    entries: &'a HashMap<String, Entry>,
) -> Result<Vec<&'a Entry>, String> {
    let diff_ids: Vec<&str> = config["rootfs"]["diff_ids"]
        .as_array()
        .map(|ids| ids.iter().filter_map(Json::as_str).collect())
        .unwrap_or_default();
    if layer_names.len() != diff_ids.len() {
        return Err(format!(
            "{config_name} names {} layers, manifest.json {}",
            diff_ids.len(),
            layer_names.len()
        ));
    }
    let mut layers = Vec::new();
    for (name, diff_id) in layer_names.iter().zip(&diff_ids) {
        let entry = entries
            .get(&normalize(name))
            .ok_or_else(|| format!("manifest.json names {name}, which is not in the archive"))?;
        if !entry.gzip && entry.digest != *diff_id {
            return Err(format!(
                "layer {name} does not match its digest ({} where the image names {diff_id})",
                entry.digest
            ));
        }
        layers.push(entry);
    }
    Ok(layers)
}

fn blob(digest: &str, entry: &Entry) -> (String, Blob) {
    (
        digest.to_owned(),
        Blob {
            offset: entry.offset,
            size: entry.size,
            data: tokio::sync::OnceCell::new(),
        },
    )
}

/// The manifest's media type, for the registry's answers.
pub(crate) const fn manifest_type() -> &'static str {
    MANIFEST_TYPE
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use sha2::{Digest as _, Sha256};

    use super::{ImageArchive, resolve, with_tag};

    fn digest(data: &[u8]) -> String {
        hex::encode(Sha256::digest(data))
    }

    fn append(builder: &mut tar::Builder<std::fs::File>, name: &str, data: &[u8]) {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder.append_data(&mut header, name, data).unwrap();
    }

    /// A `docker save` archive of one image with two layers; `tamper`
    /// may change the second layer's bytes after its digest is taken.
    fn archive(path: &Path, tamper: bool) {
        let base = vec![7_u8; 4096];
        let mut top = b"top layer".to_vec();
        let (base_id, top_id) = (digest(&base), digest(&top));
        if tamper {
            top[0] = b'T';
        }
        let config = format!(
            "{{\"rootfs\":{{\"type\":\"layers\",\"diff_ids\":[\"sha256:{base_id}\",\"sha256:{top_id}\"]}}}}"
        );
        let config_id = digest(config.as_bytes());
        let manifest = format!(
            "[{{\"Config\":\"{config_id}.json\",\"RepoTags\":[\"drover/app:2\"],\"Layers\":[\"{base_id}/layer.tar\",\"{top_id}/layer.tar\"]}}]"
        );
        let mut builder = tar::Builder::new(std::fs::File::create(path).unwrap());
        append(&mut builder, "manifest.json", manifest.as_bytes());
        append(
            &mut builder,
            &format!("{config_id}.json"),
            config.as_bytes(),
        );
        append(&mut builder, &format!("{base_id}/layer.tar"), &base);
        append(&mut builder, &format!("{top_id}/layer.tar"), &top);
        builder.finish().unwrap();
    }

    #[tokio::test]
    async fn an_archive_is_read_once_and_served_as_a_manifest_of_its_layers() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("app.tar");
        archive(&path, false);
        let archive = ImageArchive::open(&path).await.unwrap();
        let again = ImageArchive::open(&path).await.unwrap();
        assert!(
            std::sync::Arc::ptr_eq(&archive, &again),
            "read once per run"
        );
        let image = archive.image("drover/app:2").unwrap();
        let manifest: serde_json::Value = serde_json::from_slice(&image.manifest).unwrap();
        assert_eq!(manifest["layers"].as_array().unwrap().len(), 2);
        assert_eq!(manifest["config"]["digest"], image.config_digest.as_str());
        let top = image.blobs[2].clone();
        assert_eq!(&archive.blob(&top).await.unwrap()[..], b"top layer");
        assert!(archive.image("drover/app:3").is_err());
    }

    #[tokio::test]
    async fn a_corrupt_or_truncated_archive_is_refused_with_its_reason() {
        let directory = tempfile::tempdir().unwrap();
        let corrupt = directory.path().join("corrupt.tar");
        archive(&corrupt, true);
        let error = ImageArchive::open(&corrupt).await.unwrap_err().to_string();
        assert!(
            error.contains("is corrupt or truncated")
                && error.contains("does not match its digest"),
            "{error}"
        );
        let truncated = directory.path().join("truncated.tar");
        archive(&truncated, false);
        let bytes = std::fs::read(&truncated).unwrap();
        std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
        let error = ImageArchive::open(&truncated)
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains("is corrupt or truncated"), "{error}");
    }

    #[test]
    fn names_without_a_tag_mean_latest() {
        assert_eq!(with_tag("drover/app"), "drover/app:latest");
        assert_eq!(with_tag("drover/app:2"), "drover/app:2");
        assert_eq!(with_tag("localhost/drover/app:2"), "drover/app:2");
        assert_eq!(with_tag("docker.io/library/nginx"), "nginx:latest");
        assert_eq!(with_tag("127.0.0.1:5000/app"), "127.0.0.1:5000/app:latest");
    }

    #[test]
    fn links_resolve_from_their_directory() {
        assert_eq!(
            resolve("abc/layer.tar", "../def/layer.tar"),
            "def/layer.tar"
        );
    }
}
