//! Several tasks' path queries in one round trip.
//!
//! An idempotent run of file tasks is all queries: each task asks about its
//! path, finds it as wanted, and changes nothing. Asked one by one, each
//! query costs a round trip and a process on the host (`stat` or `tar`),
//! and a process started is most of what a task costs there. Asked together,
//! before the first of the tasks runs, consecutive tasks' queries cost one
//! round trip, one `stat` for all their metadata and one `tar` for all their
//! contents. They go as a rider ([`rider`]), in the flight of the command
//! before.
//!
//! The answers are kept in the host's session as the outputs of the very
//! queries the modules will run ([`drover_ssh::HostSession::exec_read_only`]),
//! and a command that may have changed them drops them. So a task after one that changed
//! something asks again, and a read-ahead never answers for a state that is
//! gone. Only the common answers are kept (absent, a regular file, a
//! directory); anything else (a link, a file tar cannot read) is left for
//! the module to ask about itself.

use std::collections::HashMap;
use std::fmt::Write as _;

use drover_ssh::{ExecOutput, ExecRequest, quote};
use serde_json::Value as Json;

use crate::arguments::Arguments;
use crate::context::RequestShape;
use crate::remote::{Detail, TAR_MARKER, query_script};
use crate::{ModuleContext, modules, tar_header};

/// A query a module task starts with, of a kind a read-ahead answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathQuery {
    path: String,
    detail: Detail,
}

impl PathQuery {
    /// The path's type, mode, owner, group and size.
    pub(crate) fn metadata(path: String) -> Self {
        Self {
            path,
            detail: Detail::Metadata,
        }
    }

    /// The same, and a regular file's content.
    pub(crate) fn content(path: String) -> Self {
        Self {
            path,
            detail: Detail::Content,
        }
    }

    /// The metadata, and a regular file's checksum (`stat`). It is asked on
    /// its own, not in the shared script.
    pub(crate) fn checksum(path: String) -> Self {
        Self {
            path,
            detail: Detail::Checksum,
        }
    }

    /// Whether the shared script of a read-ahead answers it.
    fn shared(&self) -> bool {
        matches!(self.detail, Detail::Metadata | Detail::Content)
    }
}

/// Whether module `name` starts with a query a read-ahead can answer.
pub fn reads_ahead(name: &str) -> bool {
    modules::find(name).is_some_and(|module| module.first_query.is_some())
}

/// Whether module `name` may run anything on the host. Those that run on
/// the controller alone (`assert`, `debug`, `set_fact`) leave what was read
/// ahead true.
pub fn touches_host(name: &str) -> bool {
    modules::find(name).is_none_or(|module| !module.on_controller)
}

/// Whether a task of module `name` may run while changes sent ahead of
/// it still wait for their flight (see `drover_ssh`'s `deferred.rs`): it
/// acts on the host only through the host's own session, which sends them
/// first (the file modules, `stat`, `command`), or it only reports
/// (`debug`, `assert`, `fail`) and sets no variable that would have to be
/// taken back should one of them fail.
pub fn follows_changes_sent_ahead(name: &str) -> bool {
    modules::find(name).is_some_and(|module| {
        module.first_query.is_some()
            || (module.opaque && !module.on_controller)
            || matches!(module.names.first(), Some(&("debug" | "assert" | "fail")))
    })
}

/// Whether what module `name` changes cannot be known before it runs
/// (`command`): nothing asked ahead of it holds after it.
pub fn opaque(name: &str) -> bool {
    modules::find(name).is_none_or(|module| module.opaque)
}

/// The query module `name` starts with, given its templated arguments;
/// `None` when it starts otherwise (or its arguments are wrong, which the
/// module will report when it runs).
pub fn first_query(
    name: &str,
    arguments: &serde_json::Map<String, Json>,
    context: &ModuleContext<'_>,
) -> Option<PathQuery> {
    let first_query = modules::find(name)?.first_query?;
    first_query(&Arguments::new(name, arguments), context)
}

/// The query of a module that starts by reading the file at its `path`
/// (`lineinfile`, `blockinfile`).
pub(crate) fn content_query(arguments: &Arguments<'_>) -> Option<PathQuery> {
    arguments.required("path").ok().map(PathQuery::content)
}

/// Marks where `stat`'s lines start in a read-ahead's output.
const STAT_MARKER: &str = "--drover-read-ahead-stat--";

/// A rider asking `queries` (see [`drover_ssh::Rider`]): it goes to the
/// host with the next command the session sends, so that the tasks asking
/// them find their answers without a round trip of their own. `None` when
/// there is nothing to ask.
pub fn rider(context: &ModuleContext<'_>, queries: &[PathQuery]) -> Option<drover_ssh::Rider> {
    let shape = context.request_shape();
    // Each query with the request a module sends for it, made once: the
    // session keeps answers under it, and every flight's rider reuses it.
    let asked: Vec<(PathQuery, ExecRequest)> = unique(queries)
        .into_iter()
        .map(|query| {
            let request = shape.request(&query_script(&query.path, query.detail), None);
            (query.clone(), request)
        })
        .collect();
    if asked.is_empty() {
        return None;
    }
    Some(drover_ssh::Rider {
        queries: asked
            .iter()
            .map(|(query, request)| (request.clone(), query.path.clone()))
            .collect(),
        build: Box::new(move |wanted: &[usize]| build(&shape, &asked, wanted)),
    })
}

/// The commands asking the `wanted` ones of the `asked` queries, and what
/// splits their outputs into each query's own request and output. The
/// queries about metadata and content share one script (one `stat`, one
/// `tar`); any other is its own command.
fn build(
    shape: &RequestShape,
    asked: &[(PathQuery, ExecRequest)],
    wanted: &[usize],
) -> Option<(Vec<ExecRequest>, Box<drover_ssh::SplitAnswers>)> {
    let chosen = wanted.iter().filter_map(|&at| asked.get(at));
    let (shared, own): (Vec<_>, Vec<_>) = chosen.partition(|(query, _)| query.shared());
    let own_requests: Vec<ExecRequest> = own
        .into_iter()
        .map(|(_, request)| request.clone())
        .collect();
    let mut requests = Vec::new();
    if !shared.is_empty() {
        let queries: Vec<&PathQuery> = shared.iter().map(|(query, _)| query).collect();
        requests.push(shape.request(&script(&queries), None));
    }
    requests.extend(own_requests.iter().cloned());
    if requests.is_empty() {
        return None;
    }
    let split_shared = (!shared.is_empty()).then(|| split(shared.into_iter().cloned().collect()));
    let split: Box<drover_ssh::SplitAnswers> = Box::new(move |outputs: &[ExecOutput]| {
        let (mut answers, own_outputs) = match &split_shared {
            Some(split) => match outputs.split_first() {
                Some((first, rest)) => (split(first), rest),
                None => return Vec::new(),
            },
            None => (Vec::new(), outputs),
        };
        answers.extend(
            own_requests
                .iter()
                .cloned()
                .zip(own_outputs.iter().cloned())
                .filter(|(_, output)| output.success()),
        );
        answers
    });
    Some((requests, split))
}

/// Each query once, in order.
fn unique(queries: &[PathQuery]) -> Vec<&PathQuery> {
    let mut unique: Vec<&PathQuery> = Vec::new();
    for query in queries {
        if !unique.contains(&query) {
            unique.push(query);
        }
    }
    unique
}

/// Splits the output of the shared script into each query's request and output.
type SplitShared = dyn Fn(&ExecOutput) -> Vec<(ExecRequest, ExecOutput)> + Send + Sync;

/// What splits the output of [`script`] for the `asked` queries into each
/// query's own request and output.
fn split(asked: Vec<(PathQuery, ExecRequest)>) -> Box<SplitShared> {
    let (queries, requests): (Vec<PathQuery>, Vec<ExecRequest>) = asked.into_iter().unzip();
    Box::new(move |output: &ExecOutput| {
        if !output.success() {
            return Vec::new();
        }
        let borrowed: Vec<&PathQuery> = queries.iter().collect();
        answers(&borrowed, &output.stdout)
            .into_iter()
            .filter_map(|(query, stdout)| {
                let at = queries.iter().position(|each| each == query)?;
                let answer = ExecOutput {
                    exit_status: Some(0),
                    stdout,
                    ..ExecOutput::default()
                };
                Some((requests[at].clone(), answer))
            })
            .collect()
    })
}

/// The paths of the queries `keep` keeps, each once, in order: the order
/// the script hands them to the shell, `stat` and `tar`.
fn unique_paths<'a>(queries: &[&'a PathQuery], keep: impl Fn(&PathQuery) -> bool) -> Vec<&'a str> {
    let mut paths: Vec<&str> = Vec::new();
    for query in queries {
        if keep(query) && !paths.contains(&query.path.as_str()) {
            paths.push(&query.path);
        }
    }
    paths
}

/// The paths of the queries wanting `detail`, quoted for the shell.
fn quoted_paths(queries: &[&PathQuery], detail: Option<Detail>) -> String {
    unique_paths(queries, |query| {
        detail.is_none_or(|detail| detail == query.detail)
    })
    .into_iter()
    .map(quote)
    .collect::<Vec<_>>()
    .join(" ")
}

/// Prints each path's type, then `stat` of the metadata queries' paths that
/// exist (links aside), then one tar stream of the content queries' regular
/// files.
fn script(queries: &[&PathQuery]) -> String {
    let mut script = format!(
        "for p in {}; do if [ -L \"$p\" ]; then echo link; elif [ -d \"$p\" ]; then echo directory; \
         elif [ -f \"$p\" ]; then echo file; elif [ -e \"$p\" ]; then echo other; else echo absent; fi; done; echo {STAT_MARKER}",
        quoted_paths(queries, None)
    );
    let metadata = quoted_paths(queries, Some(Detail::Metadata));
    if !metadata.is_empty() {
        let _ = write!(
            script,
            "; set --; for p in {metadata}; do if [ -e \"$p\" ] && ! [ -L \"$p\" ]; then set -- \"$@\" \"$p\"; fi; done; \
             [ $# -eq 0 ] || stat -c '%a %U %G %s' -- \"$@\" 2>/dev/null"
        );
    }
    let _ = write!(script, "; echo {TAR_MARKER}");
    let content = quoted_paths(queries, Some(Detail::Content));
    if !content.is_empty() {
        let _ = write!(
            script,
            "; set --; for p in {content}; do if [ -f \"$p\" ] && ! [ -L \"$p\" ]; then set -- \"$@\" \"$p\"; fi; done; \
             [ $# -eq 0 ] || tar -b 1 -cf - -- \"$@\" 2>/dev/null"
        );
    }
    script
}

/// What each query's own script would have printed, for the queries the
/// output answers.
fn answers<'a>(queries: &[&'a PathQuery], stdout: &[u8]) -> Vec<(&'a PathQuery, Vec<u8>)> {
    let Some((types, stats, stream)) = sections(stdout) else {
        return Vec::new();
    };
    let paths = unique_paths(queries, |_| true);
    if types.len() != paths.len() {
        return Vec::new();
    }
    let kinds: HashMap<&str, &str> = paths.iter().copied().zip(types).collect();
    let stated = unique_paths(queries, |query| {
        query.detail == Detail::Metadata && !matches!(kinds[query.path.as_str()], "absent" | "link")
    });
    let stats: HashMap<&str, &str> = if stated.len() == stats.len() {
        stated.into_iter().zip(stats).collect()
    } else {
        HashMap::new()
    };
    let files = unique_paths(queries, |query| {
        query.detail == Detail::Content && kinds[query.path.as_str()] == "file"
    });
    let contents = tar_contents(&files, stream);
    let mut found = Vec::new();
    for query in queries {
        let kind = kinds[query.path.as_str()];
        let answer = match (kind, query.detail) {
            ("absent", _) => Some(b"absent\n".to_vec()),
            ("file" | "directory" | "other", Detail::Metadata) => stats
                .get(query.path.as_str())
                .map(|line| format!("{kind}\n{line}\n\n").into_bytes()),
            ("file", Detail::Content) => contents.get(query.path.as_str()).map(|entry| {
                let mut bytes = format!("file\n{TAR_MARKER}\n").into_bytes();
                bytes.extend_from_slice(entry);
                bytes
            }),
            _ => None,
        };
        if let Some(answer) = answer {
            found.push((*query, answer));
        }
    }
    found
}

/// The output's type lines, `stat` lines and tar stream.
fn sections(stdout: &[u8]) -> Option<(Vec<&str>, Vec<&str>, &[u8])> {
    let tar_marker = format!("{TAR_MARKER}\n");
    let at = stdout
        .windows(tar_marker.len())
        .position(|window| window == tar_marker.as_bytes())?;
    let head = std::str::from_utf8(&stdout[..at]).ok()?;
    let (types, stats) = head.split_once(&format!("{STAT_MARKER}\n"))?;
    Some((
        types.lines().collect(),
        stats.lines().collect(),
        &stdout[at + tar_marker.len()..],
    ))
}

/// Each file's own bytes in the tar stream, by path; nothing when the stream
/// does not hold exactly those files in order (one could not be read).
fn tar_contents<'a>(files: &[&'a str], stream: &'a [u8]) -> HashMap<&'a str, &'a [u8]> {
    if files.is_empty() {
        return HashMap::new();
    }
    let Some(entries) = tar_header::entries(stream) else {
        return HashMap::new();
    };
    let matches = entries.len() == files.len()
        && entries
            .iter()
            .zip(files)
            .all(|(entry, path)| path.trim_start_matches('/').ends_with(&entry.name));
    if !matches {
        return HashMap::new();
    }
    files
        .iter()
        .copied()
        .zip(entries.iter().map(|entry| &stream[entry.bytes.clone()]))
        .collect()
}

// A scenario test reads top to bottom as one story; the limit on function
// size is for the product's code.
#[cfg(test)]
#[allow(clippy::too_many_lines)]
mod tests {
    use drover_ssh::{HostSession, Transport};

    use super::{PathQuery, rider, script};
    use crate::ModuleContext;
    use crate::remote::{PathKind, path_metadata, path_state_and_content};

    fn run<T>(future: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
            .block_on(future)
    }

    /// Answers come from the read-ahead (a change made behind the session's
    /// back does not show) until the session runs another command.
    #[test]
    fn issue_8_answers_read_ahead_hold_until_the_next_command() {
        let directory = tempfile::tempdir().expect("a directory");
        let file = directory.path().join("settings");
        let missing = directory.path().join("missing");
        std::fs::write(&file, "port=8080\n").expect("written");
        let [file, missing, folder] = [&file, &missing, &directory.path().to_path_buf()]
            .map(|path| path.display().to_string());
        let session = HostSession::new(Transport::Local, drover_ssh::Handshakes::default());
        let templar = drover_template::Templar::new(directory.path().to_path_buf());
        let scope = templar.scope(Vec::new());
        let context = ModuleContext {
            session: &session,
            check_mode: false,
            diff: false,
            become_user: None,
            environment: Vec::new(),
            search_paths: Vec::new(),
            templar: &templar,
            scope: &scope,
            service_rollout: None,
        };
        // The rider rides with the next command: here a query of nothing.
        let read_ahead = |queries: &[PathQuery]| {
            session.set_rider(rider(&context, queries));
            context.exec_read_only("true")
        };
        run(async {
            let queries = [
                PathQuery::content(file.clone()),
                PathQuery::metadata(folder.clone()),
                PathQuery::content(missing.clone()),
                PathQuery::metadata(file.clone()),
            ];
            read_ahead(&queries).await.expect("read ahead");
            std::fs::write(&file, "port=9090\n").expect("changed behind drover's back");
            std::fs::write(&missing, "now here").expect("created behind drover's back");
            let (state, content) = path_state_and_content(&context, &file, true)
                .await
                .expect("asked");
            assert_eq!(
                (state.kind, content.as_deref()),
                (PathKind::File, Some("port=8080\n"))
            );
            assert_eq!(state.size, 10);
            let (state, content) = path_state_and_content(&context, &missing, true)
                .await
                .expect("asked");
            assert_eq!((state.kind, content), (PathKind::Absent, None));
            let state = path_metadata(&context, &folder).await.expect("asked");
            assert_eq!(state.kind, PathKind::Directory);
            let state = path_metadata(&context, &file).await.expect("asked");
            assert_eq!((state.kind, state.size), (PathKind::File, 10));
            // Asked again, the same answer; after a command, the host's.
            let (_, content) = path_state_and_content(&context, &file, true)
                .await
                .expect("asked");
            assert_eq!(content.as_deref(), Some("port=8080\n"));
            context.exec("true", None).await.expect("a command");
            let (_, content) = path_state_and_content(&context, &file, true)
                .await
                .expect("asked");
            assert_eq!(
                content.as_deref(),
                Some("port=9090\n"),
                "a command drops what was read ahead"
            );
            let (state, _) = path_state_and_content(&context, &missing, true)
                .await
                .expect("asked");
            assert_eq!(state.kind, PathKind::File);
            read_ahead(&queries).await.expect("read ahead");
            session.forget_read_ahead();
            std::fs::remove_file(&missing).expect("removed behind drover's back");
            let (state, _) = path_state_and_content(&context, &missing, true)
                .await
                .expect("asked");
            assert_eq!(
                state.kind,
                PathKind::Absent,
                "forgetting drops what was read ahead"
            );
        });
    }

    #[test]
    fn issue_8_one_stat_and_one_tar_answer_every_query() {
        let queries = [
            PathQuery::metadata("/srv/a b".to_owned()),
            PathQuery::content("/srv/c".to_owned()),
            PathQuery::content("/srv/d".to_owned()),
        ];
        let script = script(&queries.iter().collect::<Vec<_>>());
        assert_eq!(script.matches("stat -c").count(), 1);
        assert_eq!(script.matches("tar -b 1").count(), 1);
        assert!(script.contains("'/srv/a b'"), "{script}");
    }
}
