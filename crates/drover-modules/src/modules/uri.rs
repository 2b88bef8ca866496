//! `uri`: an HTTP request made from the host (with curl), checked against
//! the expected status codes; the body returned as text or parsed JSON.

use std::fmt::Write as _;

use bytes::Bytes;
use drover_playbook::catalog::{
    ArgumentKind::{Bool, Integer, List, Raw, String as Text},
    ArgumentSpec as A,
};
use drover_ssh::quote;
use drover_template::as_text;
use serde_json::{Map, Value as Json};

use super::Module;
use crate::arguments::Arguments;
use crate::{Error, ModuleContext, ModuleResult};

const HEADERS_END: &str = "--drover-uri-headers-end--";

/// The request, read from the arguments.
pub(crate) struct Request {
    pub(crate) url: String,
    pub(crate) method: String,
    pub(crate) body: Option<String>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) timeout: u64,
    pub(crate) validate_certs: bool,
    pub(crate) follow_redirects: bool,
    pub(crate) credentials: Option<(String, String)>,
}

impl Request {
    fn read(arguments: &Arguments<'_>) -> Result<Self, Error> {
        let format = arguments
            .string("body_format")?
            .unwrap_or_else(|| "raw".to_owned());
        let mut headers = headers(arguments)?;
        let body = arguments
            .raw("body")
            .map(|value| body(value, &format, &mut headers));
        let credentials = match (
            arguments.string("url_username")?,
            arguments.string("url_password")?,
        ) {
            (Some(user), password) => Some((user, password.unwrap_or_default())),
            (None, _) => None,
        };
        Ok(Self {
            url: arguments.required("url")?,
            method: arguments
                .string("method")?
                .unwrap_or_else(|| "GET".to_owned())
                .to_uppercase(),
            body,
            headers,
            timeout: arguments.unsigned("timeout")?.unwrap_or(30),
            validate_certs: arguments.boolean("validate_certs", true)?,
            follow_redirects: !matches!(
                arguments.string("follow_redirects")?.as_deref(),
                Some("none" | "no" | "False" | "false")
            ),
            credentials,
        })
    }

    /// The curl command: headers to stdout, a marker, then the body; the
    /// status code last. The request body comes on standard input.
    pub(crate) fn command(&self) -> String {
        let mut command = format!(
            "command -v curl >/dev/null 2>&1 || {{ echo 'uri needs curl on the host' >&2; exit 127; }}\n\
             d=$(mktemp -d) && trap 'rm -rf \"$d\"' EXIT\n\
             code=$(curl -sS -X {method} --max-time {timeout} -D \"$d/h\" -o \"$d/b\" -w '%{{http_code}}'",
            method = quote(&self.method),
            timeout = self.timeout,
        );
        if self.follow_redirects {
            command.push_str(" -L");
        }
        if !self.validate_certs {
            command.push_str(" -k");
        }
        for (name, value) in &self.headers {
            let _ = write!(command, " -H {}", quote(&format!("{name}: {value}")));
        }
        if let Some((user, password)) = &self.credentials {
            let _ = write!(command, " -u {}", quote(&format!("{user}:{password}")));
        }
        if self.body.is_some() {
            command.push_str(" --data-binary @-");
        }
        let _ = write!(
            command,
            " {url}); rc=$?\ncat \"$d/h\" 2>/dev/null; echo {HEADERS_END}; cat \"$d/b\" 2>/dev/null; printf '\\n%s %s' \"$rc\" \"$code\"\n",
            url = quote(&self.url)
        );
        command
    }
}

/// `headers`, as name and text pairs.
fn headers(arguments: &Arguments<'_>) -> Result<Vec<(String, String)>, Error> {
    match arguments.raw("headers") {
        Some(Json::Object(map)) => Ok(map
            .iter()
            .map(|(name, value)| (name.clone(), as_text(value)))
            .collect()),
        Some(_) => Err(Error::Arguments("`headers` must be a mapping".to_owned())),
        None => Ok(Vec::new()),
    }
}

/// The request body `body_format` makes of `value`, with the
/// `Content-Type` it implies unless one is given.
fn body(value: &Json, format: &str, headers: &mut Vec<(String, String)>) -> String {
    let mut content_type = |kind: &str| {
        if !headers
            .iter()
            .any(|(header, _)| header.eq_ignore_ascii_case("Content-Type"))
        {
            headers.push(("Content-Type".to_owned(), kind.to_owned()));
        }
    };
    match (value, format) {
        // A string is sent as it is, already JSON; anything else is serialised.
        (value, "json") => {
            content_type("application/json");
            as_text(value)
        }
        (Json::Object(map), "form-urlencoded") => {
            content_type("application/x-www-form-urlencoded");
            form_urlencoded::Serializer::new(String::new())
                .extend_pairs(map.iter().map(|(name, value)| (name, as_text(value))))
                .finish()
        }
        (value, _) => as_text(value),
    }
}

/// The response: status, headers (the last response's, after redirects) and body.
pub(crate) struct Response {
    pub(crate) curl_exit: i64,
    pub(crate) status: i64,
    pub(crate) headers: Map<String, Json>,
    pub(crate) body: String,
}

pub(crate) fn parse(output: &str) -> Response {
    let (rest, trailer) = output.rsplit_once('\n').unwrap_or(("", output));
    let mut numbers = trailer
        .split_whitespace()
        .map(|word| word.parse::<i64>().unwrap_or(-1));
    let curl_exit = numbers.next().unwrap_or(-1);
    let status = numbers.next().unwrap_or(-1);
    let (head, body) = rest
        .split_once(&format!("{HEADERS_END}\n"))
        .unwrap_or(("", rest));
    // With redirects, curl writes every response's headers; keep the last.
    let last = head
        .split("\r\n\r\n")
        .filter(|block| !block.trim().is_empty())
        .last()
        .unwrap_or_default();
    let mut headers = Map::new();
    for line in last.lines().skip(1) {
        if let Some((name, value)) = line.split_once(':') {
            headers.insert(
                name.trim().to_lowercase().replace('-', "_"),
                Json::from(value.trim()),
            );
        }
    }
    Response {
        curl_exit,
        status: if status == 0 { -1 } else { status },
        headers,
        body: body.to_owned(),
    }
}

pub(crate) async fn run(
    arguments: &Arguments<'_>,
    context: &ModuleContext<'_>,
) -> Result<ModuleResult, Error> {
    let request = Request::read(arguments)?;
    let expected: Vec<i64> = match arguments.raw("status_code") {
        None => vec![200],
        Some(_) => arguments
            .list("status_code")?
            .iter()
            .map(|code| code.trim().parse::<i64>())
            .collect::<Result<_, _>>()
            .map_err(|_| Error::Arguments("`status_code` must be a list of numbers".to_owned()))?,
    };
    let return_content = arguments.boolean("return_content", false)?;
    // As in Ansible, `uri` does not run in check mode: a request may change
    // the remote side, and a GET may depend on changes check mode skipped.
    if context.check_mode {
        let mut result = ModuleResult::ok().message("skipped: uri does not run in check mode");
        result.skipped = true;
        return Ok(result);
    }
    let stdin = request.body.clone().map(Bytes::from);
    let output = context.exec(&request.command(), stdin).await?;
    let response = parse(&String::from_utf8_lossy(&output.stdout));
    let mut result = ModuleResult::ok()
        .with("status", response.status)
        .with("url", request.url.clone())
        .with("redirected", false);
    for (name, value) in &response.headers {
        result = result.with(name, value.clone());
    }
    let is_json = response
        .headers
        .get("content_type")
        .and_then(Json::as_str)
        .is_some_and(|kind| kind.contains("json"));
    if return_content {
        result = result.with("content", response.body.clone());
    }
    if is_json && let Ok(value) = serde_json::from_str::<Json>(&response.body) {
        result = result.with("json", value);
    }
    if response.curl_exit != 0 || !expected.contains(&response.status) {
        let reason = if response.curl_exit == 0 {
            String::new()
        } else {
            format!(
                ": Request failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            )
        };
        let expected: Vec<String> = expected.iter().map(ToString::to_string).collect();
        let mut failed = result;
        failed.failed = true;
        failed.message = Some(format!(
            "Status code was {} and not [{}]{reason}",
            response.status,
            expected.join(", ")
        ));
        return Ok(failed);
    }
    Ok(result.message(format!("OK ({} bytes)", response.body.len())))
}

const URI: &[A] = &[
    A::new("url", Text).required(),
    A::new("method", Text),
    A::new("body", Raw),
    A::new("body_format", Text).choices(&["raw", "json", "form-urlencoded"]),
    A::new("headers", Raw),
    A::new("status_code", List),
    A::new("return_content", Bool),
    A::new("timeout", Integer),
    A::new("validate_certs", Bool),
    A::new("follow_redirects", Text),
    A::new("url_username", Text).aliases(&["user"]),
    A::new("url_password", Text).aliases(&["password"]),
    A::new("force_basic_auth", Bool),
];

/// This file's modules, for the registry.
pub(crate) const MODULES: &[Module] = &[module!(&["uri"], &[URI], run)];

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{HEADERS_END, body, parse};

    #[test]
    fn responses_keep_the_last_headers_and_the_status() {
        let output = format!(
            "HTTP/1.1 301 Moved\r\nLocation: /x\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{HEADERS_END}\n{{\"a\": 1}}\n0 200"
        );
        let response = parse(&output);
        assert_eq!(response.status, 200);
        assert_eq!(response.curl_exit, 0);
        assert_eq!(response.headers["content_type"], "application/json");
        assert!(!response.headers.contains_key("location"));
        assert_eq!(response.body, "{\"a\": 1}");
        let refused = parse(&format!("{HEADERS_END}\n\n7 000"));
        assert_eq!((refused.curl_exit, refused.status), (7, -1));
    }

    #[test]
    fn form_bodies_are_encoded_as_browsers_and_ansible_encode_them() {
        let mut headers = Vec::new();
        let form = body(
            &json!({"q": "a b&c", "n": 1}),
            "form-urlencoded",
            &mut headers,
        );
        assert_eq!(form, "q=a+b%26c&n=1");
        assert_eq!(
            headers,
            [(
                "Content-Type".to_owned(),
                "application/x-www-form-urlencoded".to_owned()
            )]
        );
    }
}
