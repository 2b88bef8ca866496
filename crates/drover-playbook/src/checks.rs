//! Checks that need a whole play: every `notify` names a handler.

use crate::error::{Errors, did_you_mean};
use crate::model::{Action, Play, Task};

/// Every task's `notify` names a handler (by name, `role : name`, or a
/// `listen` topic); a templated name is checked when it runs.
pub(crate) fn check_notify(play: &Play, errors: &mut Errors) {
    let mut names: Vec<String> = Vec::new();
    for handler in &play.handlers {
        if let Some(name) = &handler.name {
            names.push(name.clone());
            if let Some(role) = &handler.role {
                names.push(format!("{} : {name}", role.name));
            }
        }
        names.extend(handler.listen.iter().cloned());
    }
    let lists = play
        .sections
        .iter()
        .map(|section| section.tasks.as_slice())
        .chain([
            play.handlers.as_slice(),
            play.switch.as_slice(),
            play.rollback.as_slice(),
        ]);
    for tasks in lists {
        walk(tasks, &mut |task| {
            for notified in &task.notify {
                if drover_template::is_template(notified) || names.contains(notified) {
                    continue;
                }
                let hint = did_you_mean(notified, names.iter().map(String::as_str)).or_else(|| {
                    Some(if names.is_empty() {
                        "the play has no handlers; add one under `handlers:`".to_owned()
                    } else {
                        format!("the play's handlers: {}", names.join(", "))
                    })
                });
                errors.invalid(
                    task.location.clone(),
                    format!(
                        "`notify` names `{notified}`, but no handler has that name or listens to it"
                    ),
                    hint,
                );
            }
        });
    }
}

fn walk(tasks: &[Task], visit: &mut impl FnMut(&Task)) {
    for task in tasks {
        visit(task);
        if let Action::Block {
            block,
            rescue,
            always,
        } = &task.action
        {
            walk(block, visit);
            walk(rescue, visit);
            walk(always, visit);
        }
    }
}
