//! Host patterns, evaluated as Ansible evaluates them.
//!
//! A pattern is a list of terms joined by `,` (or `:`). Each term is a name,
//! a glob (`web*`), or a regex (`~web\d+`), optionally sliced (`web[0]`,
//! `web[1:3]`, both ends included). Terms prefixed with `&` intersect and
//! terms prefixed with `!` exclude; whatever order they are written in,
//! Ansible applies plain terms first, then intersections, then exclusions.

use std::sync::LazyLock;

use globset::GlobBuilder;
use regex::Regex;

use crate::address;
use crate::error::Error;
use crate::inventory::{HostId, Inventory};

static TERM: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:[^\s:\[\]]|\[[^\]]*\])+").expect("term pattern is valid"));
static SUBSCRIPT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(.+)\[(?:(-?[0-9]+)|([0-9]+)([:-])([0-9]*))\]$").expect("subscript is valid")
});

/// The hosts a pattern selects, and the terms that matched nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// Matching hosts, each once, in inventory order as Ansible orders them.
    pub hosts: Vec<HostId>,
    /// Terms that matched no group and no host (Ansible warns about these).
    pub unmatched: Vec<String>,
}

/// Splits a pattern into terms on `,`, or on `:` where that cannot be a port or range.
pub fn split_terms(pattern: &str) -> Vec<String> {
    let terms: Vec<&str> = if pattern.contains(',') {
        pattern.split(',').collect()
    } else if address::parse(pattern).is_some() {
        vec![pattern]
    } else {
        TERM.find_iter(pattern)
            .map(|found| found.as_str())
            .collect()
    };
    terms
        .into_iter()
        .map(str::trim)
        .filter(|term| !term.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Puts plain terms first, then `&` terms, then `!` terms; no plain term means `all`.
fn order_terms(terms: Vec<String>) -> Vec<String> {
    let (mut plain, mut intersect, mut exclude) = (Vec::new(), Vec::new(), Vec::new());
    for term in terms {
        match term.chars().next() {
            Some('!') => exclude.push(term),
            Some('&') => intersect.push(term),
            _ => plain.push(term),
        }
    }
    if plain.is_empty() {
        plain.push("all".to_owned());
    }
    plain.into_iter().chain(intersect).chain(exclude).collect()
}

impl Inventory {
    /// The hosts that `pattern` selects.
    ///
    /// # Examples
    ///
    /// ```
    /// let inventory = drover_inventory::Inventory::load(&["a1,a2,b1,"]).unwrap();
    /// let names = |pattern| {
    ///     let selection = inventory.select(pattern).unwrap();
    ///     selection.hosts.iter().map(|id| inventory.host(*id).name.clone()).collect::<Vec<_>>()
    /// };
    /// assert_eq!(names("b*:a1"), ["b1", "a1"]);
    /// assert_eq!(names("all:!a2"), ["a1", "b1"]);
    /// assert_eq!(names("all[1:2]"), ["a2", "b1"]);
    /// ```
    pub fn select(&self, pattern: &str) -> Result<Selection, Error> {
        let mut selection = Selection::default();
        let mut hosts: Vec<HostId> = Vec::new();
        // Membership in sets: patterns over 100,000 hosts stay linear.
        let mut chosen: std::collections::HashSet<HostId> = std::collections::HashSet::new();
        for term in order_terms(split_terms(pattern)) {
            if let Some(host) = self.host_id(&term) {
                if chosen.insert(host) {
                    hosts.push(host);
                }
                continue;
            }
            let matched = self.match_term(&term, &mut selection.unmatched)?;
            match term.chars().next() {
                Some(prefix @ ('!' | '&')) => {
                    let matched: std::collections::HashSet<HostId> = matched.into_iter().collect();
                    let keep = prefix == '&';
                    hosts.retain(|host| matched.contains(host) == keep);
                    chosen = hosts.iter().copied().collect();
                }
                _ => {
                    for host in matched {
                        if chosen.insert(host) {
                            hosts.push(host);
                        }
                    }
                }
            }
        }
        let mut seen = vec![false; self.hosts.len()];
        selection.hosts = hosts
            .into_iter()
            .filter(|host| !std::mem::replace(&mut seen[*host], true))
            .collect();
        Ok(selection)
    }

    /// The hosts one term (without its `&` or `!`) matches, slice applied.
    fn match_term(&self, term: &str, unmatched: &mut Vec<String>) -> Result<Vec<HostId>, Error> {
        let bare = term.trim_start_matches(['&', '!']);
        let (expression, subscript) = split_subscript(bare);
        let hosts = self.enumerate(&expression, unmatched)?;
        apply_subscript(hosts, subscript).ok_or_else(|| Error::Pattern {
            pattern: bare.to_owned(),
            message: "no host at that position".to_owned(),
        })
    }

    /// Groups matching `expression` contribute all their hosts; hosts match
    /// by name when no group did, or when the expression is a glob or regex.
    fn enumerate(
        &self,
        expression: &str,
        unmatched: &mut Vec<String>,
    ) -> Result<Vec<HostId>, Error> {
        let matcher = Matcher::new(expression)?;
        let mut results = Vec::new();
        let mut matched_group = false;
        for (id, group) in self.groups().enumerate() {
            if matcher.is_match(&group.name) {
                matched_group = true;
                results.extend(self.group_hosts(id));
            }
        }
        let special = expression.starts_with('~') || expression.contains(['.', '?', '*', '[']);
        if !matched_group || special {
            for (id, host) in self.hosts().enumerate() {
                if !host.implicit && matcher.is_match(&host.name) {
                    results.push(id);
                }
            }
        }
        if results.is_empty() && !matched_group && expression != "all" {
            unmatched.push(expression.to_owned());
        }
        Ok(results)
    }
}

/// A glob (with fnmatch's rules) or, after `~`, a regex anchored at the start.
enum Matcher {
    Glob(globset::GlobMatcher),
    Regex(Regex),
    Literal(String),
}

impl Matcher {
    fn new(expression: &str) -> Result<Self, Error> {
        if let Some(regex) = expression.strip_prefix('~') {
            return Regex::new(&format!("^(?:{regex})"))
                .map(Self::Regex)
                .map_err(|error| Error::Pattern {
                    pattern: expression.to_owned(),
                    message: error.to_string(),
                });
        }
        if !expression.contains(['*', '?', '[']) {
            return Ok(Self::Literal(expression.to_owned()));
        }
        // fnmatch: `*` crosses `/`, backslash is literal, matching is case-sensitive.
        Ok(GlobBuilder::new(expression)
            .literal_separator(false)
            .backslash_escape(false)
            .build()
            .map_or_else(
                |_| Self::Literal(expression.to_owned()),
                |glob| Self::Glob(glob.compile_matcher()),
            ))
    }

    fn is_match(&self, name: &str) -> bool {
        match self {
            Self::Glob(glob) => glob.is_match(name),
            Self::Regex(regex) => regex.is_match(name),
            Self::Literal(literal) => literal == name,
        }
    }
}

/// A `[index]` or `[start:end]` suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Subscript {
    Index(i64),
    Range(usize, Option<usize>),
}

fn split_subscript(term: &str) -> (String, Option<Subscript>) {
    if term.starts_with('~') {
        return (term.to_owned(), None);
    }
    let Some(captures) = SUBSCRIPT.captures(term) else {
        return (term.to_owned(), None);
    };
    let expression = captures[1].to_owned();
    if let Some(index) = captures.get(2) {
        return match index.as_str().parse() {
            Ok(index) => (expression, Some(Subscript::Index(index))),
            Err(_) => (term.to_owned(), None),
        };
    }
    let start = captures[3].parse().unwrap_or(usize::MAX);
    let end = captures.get(5).and_then(|end| end.as_str().parse().ok());
    (expression, Some(Subscript::Range(start, end)))
}

/// Applies a subscript; `None` when a single index is out of range.
fn apply_subscript(hosts: Vec<HostId>, subscript: Option<Subscript>) -> Option<Vec<HostId>> {
    let Some(subscript) = subscript else {
        return Some(hosts);
    };
    if hosts.is_empty() {
        return Some(hosts);
    }
    let length = hosts.len();
    match subscript {
        // Ansible treats an end of 0 as "no end", selecting the start alone.
        Subscript::Range(start, Some(end)) if end > 0 => Some(
            hosts
                .get(start.min(length)..(end + 1).min(length).max(start.min(length)))?
                .to_vec(),
        ),
        Subscript::Range(start, None) => Some(hosts.get(start.min(length)..)?.to_vec()),
        Subscript::Range(start, Some(_)) => hosts.get(start).map(|host| vec![*host]),
        Subscript::Index(index) => {
            let position = if index < 0 {
                i64::try_from(length).ok()? + index
            } else {
                index
            };
            usize::try_from(position)
                .ok()
                .and_then(|position| hosts.get(position))
                .map(|host| vec![*host])
        }
    }
}

#[cfg(test)]
mod tests;
