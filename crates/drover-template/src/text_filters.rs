//! Ansible's filters that shape text for configuration files.
// minijinja hands filter arguments over by value.
#![allow(clippy::needless_pass_by_value)]

use minijinja::Value;
use minijinja::value::Kwargs;
use minijinja::{Environment, Error, ErrorKind};

/// Adds the filters to `environment`.
pub(crate) fn register(environment: &mut Environment<'static>) {
    environment.add_filter("comment", comment);
}

/// A comment style's parts: the first and last lines, and what starts
/// each line of the text.
struct Style {
    beginning: &'static str,
    decoration: &'static str,
    end: &'static str,
}

fn style(name: &str) -> Option<Style> {
    let (beginning, decoration, end) = match name {
        "plain" => ("", "# ", ""),
        "erlang" => ("", "% ", ""),
        "c" => ("", "// ", ""),
        "cblock" => ("/*", " * ", " */"),
        "xml" => ("<!--", " - ", "-->"),
        _ => return None,
    };
    Some(Style {
        beginning,
        decoration,
        end,
    })
}

/// A count option (`prefix_count`, `postfix_count`): a number or its text; 1 without.
fn count(options: &Kwargs, name: &str) -> Result<usize, Error> {
    Ok(options.get::<Option<Value>>(name)?.map_or(1, |value| {
        value
            .as_i64()
            .or_else(|| value.as_str().and_then(|text| text.parse().ok()))
            .and_then(|count| usize::try_from(count).ok())
            .unwrap_or(1)
    }))
}

/// `comment(style='plain', decoration=..., prefix=..., postfix=...,
/// prefix_count=1, postfix_count=1, beginning=..., end=..., newline='\n')`:
/// the text as a comment block, as Ansible writes it (a line of the
/// decoration's mark before and after, each line decorated).
fn comment(text: String, style_name: Option<String>, options: Kwargs) -> Result<String, Error> {
    let style_name = style_name.unwrap_or_else(|| "plain".to_owned());
    let style = style(&style_name).ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!(
                "Invalid style '{style_name}'; the styles are plain, erlang, c, cblock and xml"
            ),
        )
    })?;
    let text_option = |name: &str, default: &str| -> Result<String, Error> {
        Ok(options
            .get::<Option<String>>(name)?
            .unwrap_or_else(|| default.to_owned()))
    };
    let decoration = text_option("decoration", style.decoration)?;
    let newline = text_option("newline", "\n")?;
    let beginning = text_option("beginning", style.beginning)?;
    let prefix = text_option("prefix", decoration.trim_end())?;
    let postfix = text_option("postfix", decoration.trim_end())?;
    let end = text_option("end", style.end)?;
    let (prefix_count, postfix_count) = (
        count(&options, "prefix_count")?,
        count(&options, "postfix_count")?,
    );
    options.assert_all_used()?;
    let mut comment = String::new();
    if !beginning.is_empty() {
        comment.push_str(&beginning);
        comment.push_str(&newline);
    }
    if !prefix.is_empty() {
        let line = if prefix == newline {
            newline.clone()
        } else {
            format!("{prefix}{newline}")
        };
        comment.push_str(&line.repeat(prefix_count));
    }
    let body = format!(
        "{decoration}{}",
        text.replace(&newline, &format!("{newline}{decoration}"))
    )
    .replace(
        &format!("{decoration}{newline}"),
        &format!("{}{newline}", decoration.trim_end()),
    );
    comment.push_str(&body);
    for _ in 0..postfix_count {
        comment.push_str(&newline);
        comment.push_str(&postfix);
    }
    if !end.is_empty() {
        comment.push_str(&newline);
        comment.push_str(&end);
    }
    Ok(comment)
}

#[cfg(test)]
mod tests {
    use minijinja::Environment;

    fn render(template: &str) -> String {
        let mut environment = Environment::new();
        super::register(&mut environment);
        environment
            .render_str(template, minijinja::context! {})
            .expect("the template renders")
    }

    #[test]
    fn comments_are_written_as_ansible_writes_them() {
        assert_eq!(
            render("{{ 'Ansible managed' | comment }}"),
            "#\n# Ansible managed\n#"
        );
        assert_eq!(render("{{ 'a\nb' | comment('c') }}"), "//\n// a\n// b\n//");
        assert_eq!(
            render("{{ 'text' | comment('cblock') }}"),
            "/*\n *\n * text\n *\n */"
        );
        assert_eq!(
            render("{{ 'x' | comment(decoration='; ', prefix_count=2) }}"),
            ";\n;\n; x\n;"
        );
    }
}
