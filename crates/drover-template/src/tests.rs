// A scenario test reads top to bottom as one story; the limit on function
// size is for the product's code and its test harness.
#![allow(clippy::too_many_lines)]

use std::sync::Arc;

use serde_json::{Value as Json, json};

use crate::{Error, Templar, Vars};

fn templar() -> Templar {
    Templar::new(std::env::temp_dir())
}

fn scope(templar: &Templar, vars: Json) -> crate::Scope {
    let Json::Object(map) = vars else {
        panic!("not an object")
    };
    templar.scope(vec![Arc::new(map)])
}

fn render(text: &str, vars: Json) -> Json {
    let templar = templar();
    let scope = scope(&templar, vars);
    templar.render(&json!(text), &scope).unwrap()
}

#[test]
fn single_expressions_keep_their_type() {
    assert_eq!(
        render("{{ items }}", json!({"items": [1, 2]})),
        json!([1, 2])
    );
    assert_eq!(render("n={{ n }}", json!({"n": 3})), json!("n=3"));
    assert_eq!(render("plain", json!({})), json!("plain"));
    assert_eq!(
        render("{{ items }}\n", json!({"items": [1, 2]})),
        json!([1, 2])
    );
}

#[test]
fn text_around_a_string_expression_is_kept() {
    assert_eq!(render("{{ s }}\n", json!({"s": "line"})), json!("line\n"));
    assert_eq!(render(" {{ s }}", json!({"s": "x"})), json!(" x"));
}

#[test]
fn variables_render_lazily_through_each_other() {
    let vars = json!({"a": "{{ b }}-x", "b": "{{ c | upper }}", "c": "deep"});
    assert_eq!(render("{{ a }}", vars), json!("DEEP-x"));
}

#[test]
fn undefined_variables_are_named() {
    let templar = templar();
    let scope = scope(&templar, json!({"known": 1}));
    let error = templar
        .render(&json!("{{ missing + known }}"), &scope)
        .unwrap_err();
    assert!(
        matches!(&error, Error::Undefined { variable } if variable == "missing"),
        "{error}"
    );
    assert!(error.hint().unwrap().contains("default"));
    assert_eq!(
        render("{{ missing | default('d') }}", json!({})),
        json!("d")
    );
    assert_eq!(render("{{ missing is defined }}", json!({})), json!(false));
}

#[test]
fn undefined_inside_another_variable_is_explained() {
    let templar = templar();
    let scope = scope(&templar, json!({"a": "{{ nope }}"}));
    let error = templar.render(&json!("{{ a }}"), &scope).unwrap_err();
    assert!(error.to_string().contains("`a`"), "{error}");
    assert!(error.to_string().contains("nope"), "{error}");
}

#[test]
fn recursion_is_detected() {
    let templar = templar();
    let scope = scope(&templar, json!({"a": "{{ b }}", "b": "{{ a }}"}));
    let error = templar.render(&json!("{{ a }}"), &scope).unwrap_err();
    assert!(error.to_string().contains("refers to itself"), "{error}");
}

#[test]
fn ansible_filters() {
    let vars = json!({
        "d": {"a": 1, "n": {"x": 1}}, "e": {"b": 2, "n": {"y": 2}},
        "list": [3, 1, 3, [4, [5]]], "text": "Hello World", "yes_text": "yes"
    });
    let cases = [
        ("{{ yes_text | bool }}", json!(true)),
        ("{{ '42' | int + 1 }}", json!(43)),
        ("{{ 'x' | int }}", json!(0)),
        (
            "{{ d | combine(e) }}",
            json!({"a": 1, "n": {"y": 2}, "b": 2}),
        ),
        (
            "{{ d | combine(e, recursive=true) }}",
            json!({"a": 1, "n": {"x": 1, "y": 2}, "b": 2}),
        ),
        (
            "{{ d | dict2items }}",
            json!([{"key": "a", "value": 1}, {"key": "n", "value": {"x": 1}}]),
        ),
        (
            "{{ [{'key': 'k', 'value': 'v'}] | items2dict }}",
            json!({"k": "v"}),
        ),
        ("{{ list | flatten }}", json!([3, 1, 3, 4, 5])),
        ("{{ list | flatten(levels=1) }}", json!([3, 1, 3, 4, [5]])),
        ("{{ [1, 2] | union([2, 3]) }}", json!([1, 2, 3])),
        ("{{ [1, 2] | intersect([2, 3]) }}", json!([2])),
        ("{{ [1, 2] | difference([2, 3]) }}", json!([1])),
        (
            "{{ [1, 2] | zip(['a', 'b']) }}",
            json!([[1, "a"], [2, "b"]]),
        ),
        (
            r"{{ text | regex_replace('(\w+) (\w+)', '\2 \1') }}",
            json!("World Hello"),
        ),
        (r"{{ text | regex_search('W\w+') }}", json!("World")),
        (r"{{ 'a1b22' | regex_findall('\d+') }}", json!(["1", "22"])),
        ("{{ true | ternary('on', 'off') }}", json!("on")),
        ("{{ 'hi' | b64encode }}", json!("aGk=")),
        ("{{ 'aGk=' | b64decode }}", json!("hi")),
        (
            "{{ 'abc' | hash('sha1') }}",
            json!("a9993e364706816aba3e25717850c26c9cd0d89d"),
        ),
        (
            "{{ '/etc/nginx/nginx.conf' | basename }}",
            json!("nginx.conf"),
        ),
        (
            "{{ '/etc/nginx/nginx.conf' | dirname }}",
            json!("/etc/nginx"),
        ),
        ("{{ \"it's\" | quote }}", json!("\"it's\"")),
        (
            "{{ {'b': 1, 'a': [1], 'c': 'é'} | to_json }}",
            json!("{\"b\": 1, \"a\": [1], \"c\": \"\\u00e9\"}"),
        ),
        ("{{ '{\"a\": 2}' | from_json }}", json!({"a": 2})),
        ("{{ 'a: [1, 2]' | from_yaml }}", json!({"a": [1, 2]})),
        ("{{ text.split(' ') }}", json!(["Hello", "World"])),
        (
            "{{ text | lower | replace('world', 'there') }}",
            json!("hello there"),
        ),
        ("{{ '' | default('empty', true) }}", json!("empty")),
    ];
    for (template, expected) in cases {
        assert_eq!(render(template, vars.clone()), expected, "{template}");
    }
}

#[test]
fn password_hash_is_crypt_sha512() {
    let hashed = render(
        "{{ 'secret' | password_hash('sha512', 'saltsalt') }}",
        json!({}),
    );
    assert!(
        hashed.as_str().unwrap().starts_with("$6$saltsalt$"),
        "{hashed}"
    );
}

#[test]
fn ansible_tests() {
    let vars = json!({"ok": {"changed": false, "failed": false}, "bad": {"failed": true, "changed": true}, "v": "2.10.1"});
    let cases = [
        ("{{ ok is succeeded }}", true),
        ("{{ bad is failed }}", true),
        ("{{ bad is changed }}", true),
        ("{{ ok is skipped }}", false),
        ("{{ v is version('2.9', '>') }}", true),
        ("{{ v is version('2.10.1', '==') }}", true),
        ("{{ v is version('3', 'lt') }}", true),
        ("{{ 'web01' is match('web') }}", true),
    ];
    for (template, expected) in cases {
        assert_eq!(
            render(template, vars.clone()),
            json!(expected),
            "{template}"
        );
    }
}

#[test]
fn conditions_and_omit() {
    let templar = templar();
    let scope = scope(&templar, json!({"x": 5, "name": "web", "flag": "yes"}));
    assert!(
        templar
            .condition("x > 3 and name == 'web'", &scope)
            .unwrap()
    );
    assert!(!templar.condition("{{ x < 3 }}", &scope).unwrap());
    assert!(templar.condition("flag | bool", &scope).unwrap());
    assert!(
        templar
            .condition("undefined_thing is not defined", &scope)
            .unwrap()
    );
    assert_eq!(
        templar
            .render(&json!("{{ nothing | default(omit) }}"), &scope)
            .unwrap(),
        json!(crate::OMIT)
    );
}

#[test]
fn syntax_errors_are_reported_without_rendering() {
    let templar = templar();
    assert!(matches!(
        templar.check_template("{{ broken "),
        Err(Error::Syntax { .. })
    ));
    assert!(templar.check_expression("x ==").is_err());
    assert!(templar.check_template("{{ fine }}").is_ok());
}

#[test]
fn lookups_read_files_env_and_commands() {
    let directory = std::env::temp_dir().join(format!("drover-lookup-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    std::fs::write(directory.join("motd.txt"), "welcome\n").unwrap();
    std::fs::write(directory.join("t.j2"), "port={{ port }}").unwrap();
    let templar = Templar::new(directory.clone());
    let scope = {
        let mut vars = Vars::new();
        vars.insert("port".into(), json!(80));
        templar.scope(vec![Arc::new(vars)])
    };
    let get = |text: &str| templar.render(&json!(text), &scope).unwrap();
    assert_eq!(get("{{ lookup('file', 'motd.txt') }}"), json!("welcome"));
    assert_eq!(get("{{ lookup('pipe', 'echo piped') }}"), json!("piped"));
    assert_eq!(get("{{ lookup('template', 't.j2') }}"), json!("port=80"));
    assert_eq!(get("{{ query('items', [1, 2]) }}"), json!([1, 2]));
    assert!(
        get("{{ lookup('env', 'PATH') }}")
            .as_str()
            .is_some_and(|path| !path.is_empty())
    );
    std::fs::remove_dir_all(directory).unwrap();
}

#[test]
fn block_tags_eat_their_newline_as_in_ansible() {
    let text = "{% for x in items %}\nline {{ x }}\n{% endfor %}\nend\n";
    assert_eq!(
        render(text, json!({"items": [1, 2]})),
        json!("line 1\nline 2\nend\n")
    );
}

#[test]
fn a_template_that_never_ends_runs_out_of_fuel() {
    let templar = templar();
    let scope = scope(&templar, json!({}));
    let endless =
        "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}";
    let error = templar.render_string(endless, &scope).unwrap_err();
    assert!(error.to_string().contains("fuel"), "{error}");
}

/// Regression test for issue 16: a role derives a version with
/// `regex_replace(..., '\1')`; the backslash must reach the filter.
#[test]
fn issue_16_backslashes_in_expression_literals_stay_as_written() {
    let templar = Templar::new(std::path::PathBuf::new());
    let scope = templar.scope(vec![std::sync::Arc::new(
        serde_json::json!({"version": "nginx version: nginx/1.22.1"})
            .as_object()
            .cloned()
            .unwrap(),
    )]);
    let rendered = templar
        .render_text(
            r"{{ version | regex_replace('^.*nginx/([0-9.]+).*$', '\1') }}",
            &scope,
        )
        .unwrap();
    assert_eq!(rendered, serde_json::json!("1.22.1"));
    let rendered = templar
        .render_text(r#"v{{ "a\1b" }} {{ 'it\'s' }} \n"#, &scope)
        .unwrap();
    assert_eq!(rendered, serde_json::json!(r"va\1b it\'s \n"));
}

#[test]
fn the_undefined_variable_named_is_the_one_not_guarded_by_default() {
    let templar = Templar::new(std::path::PathBuf::from("."));
    let scope = templar.scope(vec![]);
    let error = templar
        .render_text("{{ aaa | default('x') }} {{ zzz }}", &scope)
        .unwrap_err();
    assert!(
        matches!(&error, Error::Undefined { variable } if variable == "zzz"),
        "{error:?}"
    );
}
