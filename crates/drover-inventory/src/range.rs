//! Host ranges: `web[01:20:2].example.com`, `db-[a:f]`, several per name.
//!
//! The rules are Ansible's: the first `[...]` is expanded, then the rest of
//! each result recursively. A start written with a leading zero pads every
//! number to its width (and then the end must be as wide). A start after the
//! end yields no hosts for numbers but is an error for letters.

/// The most names one host expression may expand to. Ranges multiply
/// (`web[1:1000]-[1:1000]` is a million names), and an inventory line must
/// not be able to exhaust the controller's memory.
pub(crate) const MAX_EXPANSION: usize = 100_000;

const LETTERS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// Whether `pattern` holds a range to expand.
pub(crate) fn has_range(pattern: &str) -> bool {
    pattern.contains('[')
}

/// Expands every range in `pattern`, or explains why one is malformed.
pub(crate) fn expand(pattern: &str) -> Result<Vec<String>, String> {
    let mut hosts = Vec::new();
    expand_into(pattern, &mut hosts)?;
    Ok(hosts)
}

fn expand_into(pattern: &str, hosts: &mut Vec<String>) -> Result<(), String> {
    let Some(open) = pattern.find('[') else {
        hosts.push(pattern.to_owned());
        return Ok(());
    };
    let Some(close) = pattern.find(']') else {
        return Err("`[` without a closing `]`".to_owned());
    };
    if close < open {
        return Err("`]` before `[`".to_owned());
    }
    let (head, inner, tail) = (
        &pattern[..open],
        &pattern[open + 1..close],
        &pattern[close + 1..],
    );
    for item in expand_bounds(inner)? {
        if hosts.len() >= MAX_EXPANSION {
            return Err(too_many());
        }
        let name = format!("{head}{item}{tail}");
        if has_range(&name) {
            expand_into(&name, hosts)?;
        } else {
            hosts.push(name);
        }
    }
    Ok(())
}

/// The items one `[begin:end:step]` stands for.
fn expand_bounds(inner: &str) -> Result<Vec<String>, String> {
    let bounds: Vec<&str> = inner.split(':').collect();
    if bounds.len() != 2 && bounds.len() != 3 {
        return Err("a range must be `begin:end` or `begin:end:step`".to_owned());
    }
    let begin = if bounds[0].is_empty() { "0" } else { bounds[0] };
    let end = bounds[1];
    if end.is_empty() {
        return Err("a range must have an end".to_owned());
    }
    let step_text = bounds.get(2).copied().unwrap_or("1");
    let width = if begin.len() > 1 && begin.starts_with('0') {
        if begin.len() != end.len() {
            return Err("a zero-padded range needs a begin and end of equal width".to_owned());
        }
        Some(begin.len())
    } else {
        None
    };
    if let (Some(first), Some(last)) = (LETTERS.find(begin), LETTERS.find(end)) {
        if first > last {
            return Err("a range must have begin <= end".to_owned());
        }
        let step = python_int(step_text)
            .and_then(|step| usize::try_from(step).ok())
            .filter(|step| *step > 0)
            .ok_or_else(|| format!("`{step_text}` is not a valid step"))?;
        return Ok(LETTERS[first..=last]
            .chars()
            .step_by(step)
            .map(|letter| letter.to_string())
            .collect());
    }
    let parse = |text: &str| python_int(text).ok_or_else(|| format!("`{text}` is not a number"));
    let (first, last, step) = (parse(begin)?, parse(end)?, parse(step_text)?);
    if step == 0 {
        return Err("a range step cannot be zero".to_owned());
    }
    let count = (i128::from(last) - i128::from(first)) / i128::from(step) + 1;
    if count > i128::try_from(MAX_EXPANSION).unwrap_or(i128::MAX) {
        return Err(too_many());
    }
    let mut items = Vec::new();
    let mut current = first;
    while (step > 0 && current <= last) || (step < 0 && current >= last) {
        items.push(match width {
            Some(width) => format!("{current:0width$}"),
            None => current.to_string(),
        });
        current += step;
    }
    Ok(items)
}

fn too_many() -> String {
    format!("the range expands to more than {MAX_EXPANSION} hosts; split it over several lines")
}

/// Python's `int()` of a string: optional sign, digits, single underscores.
fn python_int(text: &str) -> Option<i64> {
    let trimmed = text.trim();
    if trimmed.starts_with('_') || trimmed.ends_with('_') || trimmed.contains("__") {
        return None;
    }
    trimmed.replace('_', "").parse().ok()
}

#[cfg(test)]
mod tests {
    /// Found by fuzzing (issue 7): two ranges in one name multiply.
    #[test]
    fn issue_7_ranges_that_would_exhaust_memory_are_refused() {
        assert!(
            super::expand("web[0:4386].x[0:4386]")
                .unwrap_err()
                .contains("more than")
        );
        assert!(
            super::expand("web[0:999999999999]")
                .unwrap_err()
                .contains("more than")
        );
        assert_eq!(super::expand("web[1:100000]").unwrap().len(), 100_000);
    }

    use super::*;
    use proptest::prelude::*;

    #[test]
    fn numeric_ranges_pad_and_step() {
        assert_eq!(
            expand("web[01:05:2].example.com").unwrap(),
            [
                "web01.example.com",
                "web03.example.com",
                "web05.example.com"
            ]
        );
        assert_eq!(expand("h[8:10]").unwrap(), ["h8", "h9", "h10"]);
        assert_eq!(expand("h[:2]").unwrap(), ["h0", "h1", "h2"]);
    }

    #[test]
    fn letter_ranges_and_several_ranges() {
        assert_eq!(expand("db-[a:c]").unwrap(), ["db-a", "db-b", "db-c"]);
        assert_eq!(
            expand("r[1:2]n[a:b]").unwrap(),
            ["r1na", "r1nb", "r2na", "r2nb"]
        );
    }

    #[test]
    fn bad_ranges_are_explained() {
        assert!(expand("h[1]").is_err());
        assert!(expand("h[1:]").is_err());
        assert!(expand("h[01:100]").is_err());
        assert!(expand("h[c:a]").is_err());
        assert!(expand("h[1:x]").is_err());
        assert!(expand("h[1:3:0]").is_err());
        assert!(expand("h[1:3").is_err());
    }

    #[test]
    fn a_numeric_range_running_backwards_is_empty() {
        assert_eq!(expand("h[5:1]").unwrap(), Vec::<String>::new());
    }

    proptest! {
        #[test]
        fn numeric_ranges_have_the_expected_members(
            begin in 0u32..500, length in 0u32..200, step in 1u32..7, pad in any::<bool>(),
        ) {
            let end = begin + length;
            let width = if pad { end.to_string().len() } else { 0 };
            let begin_text = format!("{begin:0width$}");
            let pattern = format!("n[{begin_text}:{end}:{step}]x");
            let hosts = expand(&pattern).unwrap();
            let expected: Vec<u32> = (begin..=end).step_by(step as usize).collect();
            prop_assert_eq!(hosts.len(), expected.len());
            let padded = begin_text.len() > 1 && begin_text.starts_with('0');
            for (host, number) in hosts.iter().zip(expected) {
                let digits = host.trim_start_matches('n').trim_end_matches('x');
                prop_assert_eq!(digits.parse::<u32>().unwrap(), number);
                if padded {
                    prop_assert_eq!(digits.len(), width);
                }
            }
        }

        #[test]
        fn unequal_padding_is_refused(begin in 0u32..9, end in 100u32..999) {
            let pattern = format!("n[0{begin}:{end}]");
            prop_assert!(expand(&pattern).is_err());
        }

        #[test]
        fn expansion_never_panics(pattern in "[a-z0-9\\[\\]:._-]{0,24}") {
            let _ = expand(&pattern);
        }

        #[test]
        fn letter_ranges_cover_the_alphabet_slice(first in 0usize..52, length in 0usize..52) {
            let last = (first + length).min(51);
            let letters: Vec<char> = LETTERS.chars().collect();
            let pattern = format!("x[{}:{}]", letters[first], letters[last]);
            let hosts = expand(&pattern).unwrap();
            prop_assert_eq!(hosts.len(), last - first + 1);
        }
    }
}
