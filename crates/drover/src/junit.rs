//! `--junit FILE`: a run as JUnit XML, for CI systems, shaped as Ansible's
//! `junit` callback writes it: one `testsuite` for the playbook, and one
//! `testcase` per host per task, named `[HOST] PLAY: TASK`, with the task's
//! `file:line` as its class and its duration as its time. A failure is a
//! `failure` (with the task's message), an unreachable host an `error`, a
//! skipped task `skipped`; the result goes in `system-out`. Task arguments
//! are left out of the names (Ansible's `hide_task_arguments`): they may
//! hold what only the playbook should show. The file is masked as the
//! output is.

use std::io::Cursor;
use std::path::Path;
use std::sync::{Arc, Mutex};

use drover_engine::{Event, Reporter, Status};
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText};

/// One host's result of one task.
struct Case {
    name: String,
    class: String,
    seconds: f64,
    status: Status,
    message: String,
    output: String,
}

/// What the events said so far: the current play and task, and the cases.
#[derive(Default)]
struct Collected {
    play: String,
    task: String,
    location: String,
    cases: Vec<Case>,
}

/// Collects every host's result as a test case.
#[derive(Default)]
pub(crate) struct Junit {
    collected: Mutex<Collected>,
}

impl Reporter for Junit {
    fn event(&self, event: Event) {
        let mut collected = self
            .collected
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match event {
            Event::PlayStart { name, .. } => collected.play = name,
            Event::TaskStart { name, location, .. } => {
                collected.task = name;
                collected.location = location;
            }
            // A loop's items are in its task's summary.
            Event::HostResult(report) if report.item.is_none() => {
                let message = report.result["msg"]
                    .as_str()
                    .or_else(|| report.result["skip_reason"].as_str())
                    .unwrap_or_default()
                    .to_owned();
                let case = Case {
                    name: format!("[{}] {}: {}", report.host, collected.play, collected.task),
                    class: collected.location.clone(),
                    seconds: report
                        .timing
                        .map_or(0.0, |timing| timing.elapsed.as_secs_f64()),
                    status: report.status,
                    message,
                    output: serde_json::to_string_pretty(&report.result).unwrap_or_default(),
                };
                collected.cases.push(case);
            }
            _ => {}
        }
    }
}

/// Runs `run` with `reporter`, and with `path` also collecting its results
/// and writing them there as JUnit XML, the suite named after `playbook`.
pub(crate) fn around(
    path: Option<&Path>,
    playbook: &Path,
    reporter: Arc<dyn Reporter>,
    run: impl FnOnce(Arc<dyn Reporter>) -> crate::failure::Outcome,
) -> crate::failure::Outcome {
    let Some(path) = path else {
        return run(reporter);
    };
    let junit = Arc::new(Junit::default());
    let outcome = run(Arc::new(Both(reporter, junit.clone())));
    let name = playbook
        .file_stem()
        .map_or_else(String::new, |stem| stem.to_string_lossy().into_owned());
    junit.write(path, &name).map_err(|error| {
        crate::failure::Failure::usage(format!(
            "cannot write the JUnit file `{}`: {error}",
            path.display()
        ))
    })?;
    outcome
}

/// Every event to the output, and to the JUnit collector.
struct Both(Arc<dyn Reporter>, Arc<Junit>);

impl Reporter for Both {
    fn event(&self, event: Event) {
        self.1.event(event.clone());
        self.0.event(event);
    }
}

impl Junit {
    /// Writes the cases to `path`, as the suite `name` (the playbook's).
    pub(crate) fn write(&self, path: &Path, name: &str) -> std::io::Result<()> {
        let collected = self
            .collected
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let xml = render(name, &collected.cases)?;
        std::fs::write(path, drover_vault::mask(&xml))
    }
}

/// The XML document of the suite `name`.
fn render(name: &str, cases: &[Case]) -> std::io::Result<String> {
    let count = |wanted: &[Status]| {
        cases
            .iter()
            .filter(|case| wanted.contains(&case.status))
            .count()
            .to_string()
    };
    let time = format!("{:.3}", cases.iter().map(|case| case.seconds).sum::<f64>());
    let (tests, failures) = (cases.len().to_string(), count(&[Status::Failed]));
    let (errors, skipped) = (count(&[Status::Unreachable]), count(&[Status::Skipped]));
    let mut writer = Writer::new_with_indent(Cursor::new(Vec::new()), b'\t', 1);
    writer.write_event(quick_xml::events::Event::Decl(BytesDecl::new(
        "1.0",
        Some("UTF-8"),
        None,
    )))?;
    let totals = [
        ("tests", tests.as_str()),
        ("failures", failures.as_str()),
        ("errors", errors.as_str()),
        ("skipped", skipped.as_str()),
        ("time", time.as_str()),
    ];
    writer
        .create_element("testsuites")
        .with_attributes(totals)
        .write_inner_content(|writer| {
            writer
                .create_element("testsuite")
                .with_attribute(("name", name))
                .with_attributes(totals)
                .write_inner_content(|writer| {
                    for case in cases {
                        write_case(writer, case)?;
                    }
                    Ok(())
                })?;
            Ok(())
        })?;
    Ok(String::from_utf8_lossy(&writer.into_inner().into_inner()).into_owned())
}

/// One `testcase`.
fn write_case(writer: &mut Writer<Cursor<Vec<u8>>>, case: &Case) -> std::io::Result<()> {
    let time = format!("{:.3}", case.seconds);
    writer
        .create_element("testcase")
        .with_attributes([
            ("classname", case.class.as_str()),
            ("name", case.name.as_str()),
            ("time", time.as_str()),
        ])
        .write_inner_content(|writer| {
            let verdict = match case.status {
                Status::Failed => Some(("failure", "failure")),
                Status::Unreachable => Some(("error", "unreachable")),
                _ => None,
            };
            if let Some((element, kind)) = verdict {
                writer
                    .create_element(element)
                    .with_attributes([("message", case.message.as_str()), ("type", kind)])
                    .write_text_content(BytesText::new(&case.output))?;
            } else if case.status == Status::Skipped {
                writer
                    .create_element("skipped")
                    .write_text_content(BytesText::new(&case.message))?;
            } else {
                writer
                    .create_element("system-out")
                    .write_text_content(BytesText::new(&case.output))?;
            }
            Ok(())
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_19_failures_skips_and_passes_are_counted_and_escaped() {
        let case = |status, message: &str| Case {
            name: "[web1] deploy: <copy> & \"go\"".to_owned(),
            class: "site.yml:4".to_owned(),
            seconds: 0.25,
            status,
            message: message.to_owned(),
            output: "{}".to_owned(),
        };
        let xml = render(
            "site",
            &[
                case(Status::Changed, ""),
                case(Status::Failed, "it broke"),
                case(Status::Skipped, "Conditional result was False"),
                case(Status::Unreachable, "no route"),
            ],
        )
        .expect("rendered");
        assert!(xml.contains(r#"<testsuite name="site" tests="4" failures="1" errors="1" skipped="1" time="1.000">"#), "{xml}");
        assert!(
            xml.contains(r#"name="[web1] deploy: &lt;copy&gt; &amp; &quot;go&quot;""#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<failure message="it broke" type="failure">{}</failure>"#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<error message="no route" type="unreachable">"#),
            "{xml}"
        );
        assert!(
            xml.contains("<skipped>Conditional result was False</skipped>"),
            "{xml}"
        );
        assert!(xml.contains("<system-out>{}</system-out>"), "{xml}");
    }
}
