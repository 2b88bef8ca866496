use std::path::Path;

use proptest::prelude::*;

use crate::Inventory;

const INVENTORY: &str = "\
solo
[web]
web1
web2
web3
[db]
db1
db2
web3
[prod:children]
web
db
[staging]
stage1
";

fn inventory() -> Inventory {
    Inventory::from_text(INVENTORY, Path::new("hosts.ini")).unwrap()
}

fn names(inventory: &Inventory, pattern: &str) -> Vec<String> {
    inventory
        .select(pattern)
        .unwrap()
        .hosts
        .iter()
        .map(|id| inventory.host(*id).name.clone())
        .collect()
}

#[test]
fn all_and_star_select_every_host() {
    let inventory = inventory();
    let every = names(&inventory, "all");
    assert_eq!(every.len(), 7);
    assert_eq!(names(&inventory, "*").len(), 7);
}

#[test]
fn groups_globs_and_regexes() {
    let inventory = inventory();
    assert_eq!(names(&inventory, "db"), ["db1", "db2", "web3"]);
    assert_eq!(names(&inventory, "web*"), ["web1", "web2", "web3"]);
    assert_eq!(names(&inventory, "~db\\d"), ["db1", "db2"]);
    assert_eq!(names(&inventory, "stage1"), ["stage1"]);
}

#[test]
fn union_intersection_and_exclusion_follow_ansible_order() {
    let inventory = inventory();
    assert_eq!(
        names(&inventory, "web:db"),
        ["web1", "web2", "web3", "db1", "db2"]
    );
    assert_eq!(names(&inventory, "web,db"), names(&inventory, "web:db"));
    assert_eq!(names(&inventory, "web:&db"), ["web3"]);
    assert_eq!(names(&inventory, "prod:!db"), ["web1", "web2"]);
    // Exclusions apply last, wherever they are written.
    assert_eq!(names(&inventory, "!db:web"), ["web1", "web2"]);
    // Only modifiers: they apply to `all`.
    assert_eq!(names(&inventory, "!prod"), ["solo", "stage1"]);
}

#[test]
fn slices_include_both_ends() {
    let inventory = inventory();
    assert_eq!(names(&inventory, "web[0]"), ["web1"]);
    assert_eq!(names(&inventory, "web[-1]"), ["web3"]);
    assert_eq!(names(&inventory, "web[0:1]"), ["web1", "web2"]);
    assert_eq!(names(&inventory, "web[1:]"), ["web2", "web3"]);
    assert!(inventory.select("web[7]").is_err());
    assert_eq!(names(&inventory, "web[5:9]"), Vec::<String>::new());
}

#[test]
fn unmatched_terms_are_reported() {
    let inventory = inventory();
    let selection = inventory.select("nothing:web1").unwrap();
    assert_eq!(selection.unmatched, ["nothing"]);
    assert_eq!(selection.hosts.len(), 1);
}

#[test]
fn bad_regexes_are_errors() {
    assert!(inventory().select("~web(").is_err());
}

fn host_names() -> impl Strategy<Value = Vec<String>> {
    prop::collection::btree_set("[a-d][0-9]", 1..12).prop_map(|set| set.into_iter().collect())
}

proptest! {
    #[test]
    fn set_algebra_holds(hosts in host_names(), first in "[a-d]\\*", second in "[a-d]\\*") {
        let list = format!("{},", hosts.join(","));
        let inventory = Inventory::load(&[list]).unwrap();
        let set = |pattern: &str| -> std::collections::BTreeSet<String> {
            names(&inventory, pattern).into_iter().collect()
        };
        let (a, b) = (set(&first), set(&second));
        prop_assert_eq!(set(&format!("{first}:{second}")), &a | &b);
        prop_assert_eq!(set(&format!("{first}:&{second}")), &a & &b);
        prop_assert_eq!(set(&format!("{first}:!{second}")), &a - &b);
        prop_assert_eq!(set(&format!("!{second}:{first}")), &a - &b);
    }

    #[test]
    fn slices_are_contiguous_runs(hosts in host_names(), start in 0usize..12, length in 1usize..12) {
        let list = format!("{},", hosts.join(","));
        let inventory = Inventory::load(&[list]).unwrap();
        let end = start + length;
        let all = names(&inventory, "all");
        let sliced = names(&inventory, &format!("all[{start}:{end}]"));
        let expected: Vec<String> = all.iter().skip(start).take(end - start + 1).cloned().collect();
        prop_assert_eq!(sliced, expected);
    }

    #[test]
    fn selection_never_panics(pattern in "[a-z0-9*?~!&:,\\[\\]-]{0,16}") {
        let _ = inventory().select(&pattern);
    }
}
