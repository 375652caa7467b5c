//! Property tests: the evaluator never panics and always stops, whatever the input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use oxhub_config::pyconfig::{evaluate, FixedEnv};
use oxhub_config::raw::RawConfig;
use proptest::prelude::*;

fn eval(src: &str) {
    let env = FixedEnv::default().with_var("X", "a,b");
    let mut raw = RawConfig::default();
    let _ = evaluate("fuzz.py", src, &env, &mut raw);
}

/// Pieces of Python that are likely to parse together, including ones that stress limits.
const TOKENS: &[&str] = &[
    "c.A.x",
    "c.B.y",
    "c['A']",
    "x",
    "y",
    " = ",
    " += ",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ", ",
    ": ",
    ".",
    "\n",
    "    ",
    "1",
    "-1",
    "0",
    "2**62",
    "'s'",
    "b'b'",
    "f'{x}'",
    "'%s' % ",
    "None",
    "True",
    " + ",
    " * ",
    " // ",
    " % ",
    " == ",
    " < ",
    " in ",
    " not ",
    " and ",
    " or ",
    " if ",
    " else ",
    "for x in ",
    "range(",
    "len(",
    "os.environ",
    "os.environ.get(",
    "import os\n",
    "import json\n",
    ".append(",
    ".update(",
    ".split(",
    ".format(",
    "json.loads(",
    "'{}'",
    "{1: 2}",
    "[1, 2]",
    "lambda: 1",
    "def f():\n    pass\n",
    "x[0]",
    "x[1:]",
    "sorted(",
    "set(",
    "dict(",
    "**",
    "*",
    "'a' * 10**9",
    "range(10**9)",
    "\\",
    "#",
    "'''",
    "\"",
];

fn program() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TOKENS), 0..60).prop_map(|parts| parts.concat())
}

/// Well-formed expressions, so the evaluator (not just the parser) is exercised deeply.
fn expr() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        any::<i32>().prop_map(|i| i.to_string()),
        "[a-z]{0,6}".prop_map(|s| format!("'{s}'")),
        Just("None".to_owned()),
        Just("True".to_owned()),
        Just("os.environ.get('X', '')".to_owned()),
        Just("x".to_owned()),
    ];
    leaf.prop_recursive(6, 64, 4, |inner| {
        prop_oneof![
            (
                inner.clone(),
                prop::sample::select(&["+", "-", "*", "%", "//", "==", "<", "in", "and", "or"][..]),
                inner.clone()
            )
                .prop_map(|(a, op, b)| format!("({a} {op} {b})")),
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(", "))),
            (inner.clone(), inner.clone()).prop_map(|(k, v)| format!("{{{k}: {v}}}")),
            (
                inner.clone(),
                prop::sample::select(&["len", "str", "int", "sorted", "set", "list", "bool"][..])
            )
                .prop_map(|(a, f)| format!("{f}({a})")),
            (
                inner.clone(),
                prop::sample::select(
                    &[
                        "split(',')",
                        "strip()",
                        "upper()",
                        "format(1)",
                        "get(1)",
                        "keys()"
                    ][..]
                )
            )
                .prop_map(|(a, m)| format!("{a}.{m}")),
            (inner.clone(), inner.clone(), inner)
                .prop_map(|(a, b, t)| format!("({a} if {t} else {b})")),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(src in "\\PC{0,200}") {
        eval(&src);
    }

    #[test]
    fn token_soup_never_panics(src in program()) {
        eval(&src);
    }

    #[test]
    fn expressions_never_panic(e in expr(), loop_over in expr()) {
        eval(&format!("import os\nx = [1, 'a']\nc.A.v = {e}\nfor y in {loop_over}:\n    c.A.w = y\n"));
    }
}
