//! `get_url`: a file downloaded on the host (with curl), verified against a
//! checksum, and put in place atomically only when its content differs.

use std::fmt::Write as _;

use drover_playbook::catalog::{
    ArgumentKind::{Bool, Integer, Raw, String as Text},
    ArgumentSpec as A,
};
use drover_ssh::quote;

use super::Module;
use crate::arguments::Arguments;
use crate::remote::{output_value, set_file_attributes};
use crate::{Error, ModuleContext, ModuleResult};

/// `algorithm:hex` → the coreutils tool that computes it, and the digest.
pub(crate) fn checksum_tool(checksum: &str) -> Result<(&'static str, String), Error> {
    let (algorithm, digest) = checksum.split_once(':').ok_or_else(|| {
        Error::Arguments(format!(
            "`checksum` must be `algorithm:digest`, not `{checksum}`"
        ))
    })?;
    let tool = match algorithm.to_ascii_lowercase().as_str() {
        "md5" => "md5sum",
        "sha1" => "sha1sum",
        "sha224" => "sha224sum",
        "sha256" => "sha256sum",
        "sha384" => "sha384sum",
        "sha512" => "sha512sum",
        other => {
            return Err(Error::Arguments(format!(
                "`checksum` algorithm `{other}` is not supported"
            )));
        }
    };
    Ok((tool, digest.trim().to_ascii_lowercase()))
}

/// The host-side script: skip a file already there (unless `force`, and
/// with a `checksum` that matches), download to a temporary file beside
/// it, verify, and rename it into place when it differs.
fn download_script(
    arguments: &Arguments<'_>,
    url: &str,
    dest: &str,
    check_mode: bool,
) -> Result<String, Error> {
    let force = arguments.boolean("force", false)?;
    let checksum = arguments
        .string("checksum")?
        .map(|text| checksum_tool(&text))
        .transpose()?;
    let fetch = curl_command(arguments)?;
    let verify = checksum.as_ref().map_or_else(String::new, |(tool, digest)| {
        format!(
            "sum=$({tool} \"$t\" | cut -d' ' -f1); [ \"$sum\" = {digest} ] || {{ echo \"checksum mismatch: got $sum\"; exit 1; }}\n",
            digest = quote(digest)
        )
    });
    let up_to_date = match &checksum {
        Some((tool, digest)) => format!(
            "[ \"$({tool} \"$dest\" | cut -d' ' -f1)\" = {} ]",
            quote(digest)
        ),
        None => "true".to_owned(),
    };
    Ok(format!(
        "url={url}; dest={dest}\n\
         if [ -d \"$dest\" ]; then name=${{url##*/}}; name=${{name%%\\?*}}; dest=\"$dest/$name\"; fi\n\
         echo \"dest=$dest\"\n\
         if [ -e \"$dest\" ] && [ {force} = no ] && {up_to_date}; then echo outcome=present; exit 0; fi\n\
         command -v curl >/dev/null 2>&1 || {{ echo 'get_url needs curl on the host'; exit 1; }}\n\
         t=$(mktemp \"$(dirname \"$dest\")/.drover-get_url.XXXXXX\") || exit 1\n\
         trap 'rm -f \"$t\"' EXIT\n\
         {fetch} -o \"$t\" \"$url\" 2>\"$t.err\" || {{ echo \"download failed: $(cat \"$t.err\")\"; rm -f \"$t.err\"; exit 1; }}\n\
         rm -f \"$t.err\"\n\
         {verify}\
         if [ -e \"$dest\" ] && cmp -s \"$t\" \"$dest\"; then echo outcome=same; exit 0; fi\n\
         if [ {check} = yes ]; then echo outcome=would-change; exit 0; fi\n\
         if [ -e \"$dest\" ]; then chmod \"$(stat -c %a \"$dest\")\" \"$t\"; else chmod 644 \"$t\"; fi\n\
         mv -f \"$t\" \"$dest\" && echo outcome=changed\n",
        url = quote(url),
        dest = quote(dest),
        force = if force { "yes" } else { "no" },
        check = if check_mode { "yes" } else { "no" },
    ))
}

/// The `curl` command line for the download: its timeout, certificate
/// checking, headers and credentials.
fn curl_command(arguments: &Arguments<'_>) -> Result<String, Error> {
    let mut fetch = format!(
        "curl -fsSL --max-time {}",
        arguments.unsigned("timeout")?.unwrap_or(10)
    );
    if !arguments.boolean("validate_certs", true)? {
        fetch.push_str(" -k");
    }
    if let serde_json::Value::Object(headers) =
        arguments.raw("headers").cloned().unwrap_or_default()
    {
        for (name, value) in headers {
            let value = drover_template::as_text(&value);
            let _ = write!(fetch, " -H {}", quote(&format!("{name}: {value}")));
        }
    }
    if let Some(user) = arguments.string("url_username")? {
        let password = arguments.string("url_password")?.unwrap_or_default();
        let _ = write!(fetch, " -u {}", quote(&format!("{user}:{password}")));
    }
    Ok(fetch)
}

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let url = arguments.required("url")?;
    let dest = arguments.required("dest")?;
    let script = download_script(arguments, &url, &dest, context.check_mode)?;
    let output = context.exec(&script, None).await?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let value = |key: &str| output_value(&stdout, key);
    let final_dest = value("dest");
    if !output.success() || value("outcome").is_empty() {
        let reason = stdout
            .lines()
            .filter(|line| !line.starts_with("dest="))
            .collect::<Vec<_>>()
            .join(" ");
        return Ok(
            ModuleResult::failed(format!("fetching {url} failed: {}", reason.trim()))
                .with("url", url),
        );
    }
    let mut result = if matches!(value("outcome").as_str(), "changed" | "would-change") {
        ModuleResult::changed()
    } else {
        ModuleResult::ok()
    };
    result.changed |= set_file_attributes(arguments, context, &final_dest).await?;
    Ok(result.with("dest", final_dest).with("url", url))
}

const GET_URL: &[A] = &[
    A::new("url", Text).required(),
    A::new("dest", Text).required(),
    A::new("checksum", Text),
    A::new("force", Bool),
    A::new("timeout", Integer),
    A::new("headers", Raw),
    A::new("validate_certs", Bool),
    A::new("url_username", Text).aliases(&["username"]),
    A::new("url_password", Text).aliases(&["password"]),
    A::new("backup", Bool),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(&["get_url"], &[GET_URL, &super::ATTRIBUTES], run)];
