//! A read-only registry for one image of an archive, served to one host
//! through a port forwarded over its SSH connection ([`drover_ssh::Forward`]).
//!
//! The host's engine pulls `127.0.0.1:PORT/NAME:TAG` from it with the
//! registry protocol, so it asks only for the blobs it does not have: a
//! release that changes one layer sends that layer. Only what the pull
//! needs is answered (`GET`/`HEAD` of `/v2/`, the manifest and blobs).

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Method, Request, Response, StatusCode};

use crate::image_archive::{ArchivedImage, ImageArchive, manifest_type};

/// What one host was sent.
#[derive(Debug, Default)]
pub(crate) struct Sent {
    /// Bytes of blobs (layers and configuration) sent.
    pub(crate) bytes: AtomicU64,
    /// Blobs sent.
    pub(crate) blobs: AtomicU64,
}

/// The image this registry serves.
#[derive(Clone)]
struct Served {
    archive: Arc<ImageArchive>,
    image: ArchivedImage,
    sent: Arc<Sent>,
}

/// Serves `image` on every connection the host makes to `forward`, until
/// the future is dropped.
pub(crate) async fn serve(
    mut forward: drover_ssh::Forward,
    archive: Arc<ImageArchive>,
    image: ArchivedImage,
    sent: Arc<Sent>,
) {
    let served = Served {
        archive,
        image,
        sent,
    };
    let mut connections = tokio::task::JoinSet::new();
    while let Some(stream) = forward.accept().await {
        let served = served.clone();
        connections.spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let served = served.clone();
                async move { Ok::<_, Infallible>(answer(&served, &request).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn answer<B>(served: &Served, request: &Request<B>) -> Response<Full<Bytes>> {
    let head = request.method() == Method::HEAD;
    if request.method() != Method::GET && !head {
        return error(StatusCode::METHOD_NOT_ALLOWED, "UNSUPPORTED", "read-only");
    }
    let path = request.uri().path();
    if path == "/v2/" || path == "/v2" {
        return response(
            StatusCode::OK,
            "application/json",
            None,
            Bytes::from_static(b"{}"),
            head,
        );
    }
    let Some(rest) = path.strip_prefix("/v2/") else {
        return error(StatusCode::NOT_FOUND, "NAME_UNKNOWN", "not a registry path");
    };
    if let Some((_, reference)) = rest.rsplit_once("/manifests/") {
        let image = &served.image;
        let known = !reference.starts_with("sha256:") || reference == image.manifest_digest;
        if !known {
            return error(StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN", reference);
        }
        return response(
            StatusCode::OK,
            manifest_type(),
            Some(&image.manifest_digest),
            image.manifest.clone(),
            head,
        );
    }
    if let Some((_, digest)) = rest.rsplit_once("/blobs/") {
        return blob(served, digest, head).await;
    }
    error(StatusCode::NOT_FOUND, "UNSUPPORTED", path)
}

/// `GET` or `HEAD /v2/NAME/blobs/DIGEST`: a layer or the config, read
/// from the archive (and counted) only for `GET`.
async fn blob(served: &Served, digest: &str, head: bool) -> Response<Full<Bytes>> {
    if !served.image.blobs.iter().any(|blob| blob == digest) {
        return error(StatusCode::NOT_FOUND, "BLOB_UNKNOWN", digest);
    }
    if head {
        let size = served.archive.blob_size(digest).unwrap_or(0);
        let mut answer = response(
            StatusCode::OK,
            "application/octet-stream",
            Some(digest),
            Bytes::new(),
            true,
        );
        if let Ok(length) = hyper::header::HeaderValue::from_str(&size.to_string()) {
            answer
                .headers_mut()
                .insert(hyper::header::CONTENT_LENGTH, length);
        }
        return answer;
    }
    match served.archive.blob(digest).await {
        Ok(data) => {
            served
                .sent
                .bytes
                .fetch_add(data.len() as u64, Ordering::Relaxed);
            served.sent.blobs.fetch_add(1, Ordering::Relaxed);
            response(
                StatusCode::OK,
                "application/octet-stream",
                Some(digest),
                data,
                false,
            )
        }
        Err(failure) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "UNKNOWN",
            &failure.to_string(),
        ),
    }
}

fn response(
    status: StatusCode,
    content_type: &str,
    digest: Option<&str>,
    body: Bytes,
    head: bool,
) -> Response<Full<Bytes>> {
    let length = body.len();
    let mut builder = Response::builder()
        .status(status)
        .header("Content-Type", content_type)
        .header("Docker-Distribution-API-Version", "registry/2.0")
        .header("Content-Length", length);
    if let Some(digest) = digest {
        builder = builder.header("Docker-Content-Digest", digest);
    }
    let body = if head { Bytes::new() } else { body };
    builder
        .body(Full::new(body))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

fn error(status: StatusCode, code: &str, message: &str) -> Response<Full<Bytes>> {
    let body = serde_json::json!({"errors": [{"code": code, "message": message}]}).to_string();
    response(status, "application/json", None, Bytes::from(body), false)
}
