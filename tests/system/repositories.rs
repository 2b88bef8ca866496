//! APT sources (issue 17): `apt_repository` and `deb822_repository` leave
//! the same files as Ansible's modules, run by Ansible on one full host and
//! by drover on its twin, twice each, then taken away again.

use drover_test_harness::full::FullBed;

use super::{ansible_command, ansible_playbook, on_host, play, recap, text};

const PLAYBOOK: &str = "tests/system/playbooks/repositories.yml";

/// The files the play writes, with their modes, as `cat` and `stat` show them.
const FILES: &str = "cd /etc/apt/sources.list.d && for f in deb_debian_org_debian.list \
                     sources-of-main.list debian-non-free.sources; do \
                     if [ -e \"$f\" ]; then echo \"== $f $(stat -c %a \"$f\")\"; cat \"$f\"; \
                     else echo \"== $f absent\"; fi; done";

pub(super) fn repositories_match_ansible(bed: &FullBed) {
    let Some(ansible) = ansible_playbook() else {
        return;
    };
    let (theirs, ours) = (&bed.hosts[0].name, &bed.hosts[1].name);
    for state in ["present", "absent"] {
        let extra = format!("state={state}");
        for _ in 0..2 {
            let output = ansible_command(&ansible, bed)
                .args([PLAYBOOK, "--limit", theirs, "-e", &extra])
                .output()
                .expect("ansible-playbook runs");
            assert!(
                output.status.success(),
                "{}{}",
                text(&output.stdout),
                text(&output.stderr)
            );
        }
        play(bed, PLAYBOOK, &["--limit", ours, "-e", &extra]);
        let again = play(bed, PLAYBOOK, &["--limit", ours, "-e", &extra]);
        assert!(
            recap(&again).iter().all(|(_, changed, _)| *changed == 0),
            "drover's second run ({state}) changed something: {:?}",
            recap(&again)
        );
        let (expected, found) = (on_host(bed, theirs, FILES), on_host(bed, ours, FILES));
        assert_eq!(
            found, expected,
            "drover (left) and Ansible (right) left different sources ({state})"
        );
        if state == "present" {
            assert!(
                found.contains("Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"),
                "{found}"
            );
        } else {
            assert_eq!(found.matches("absent").count(), 3, "{found}");
        }
    }
}
