//! The quick lexer against proc-macro2's, token for token.

use super::*;

fn check(text: &str) {
    let mut quick = Vec::new();
    let ours = lex(text, &mut quick).map(|()| quick);
    let theirs = crate::lex::slow_tokens(text)
        .ok()
        .map(|t| fold_docs(text, t));
    proc_macro2::extra::invalidate_current_thread_spans();
    match (ours, theirs) {
        (Some(a), Some(b)) => assert_eq!(a, b, "{text:?}"),
        (Some(a), None) => panic!("accepted what proc-macro2 refuses: {text:?} -> {a:?}"),
        (None, _) => {}
    }
}

#[test]
fn agrees_with_proc_macro2_on_tricky_tokens() {
    for t in [
        "fn f() { let x = a.b(1, None).await?; }",
        "x.0.1 1.0 1. 1.. 1..2 1.e3 1e3 1e+3 1.5e-3f64 1e 1u8 0x1F 0b101 0o17 1_000 1.await",
        "'a' 'ab '\\n' '\\'' b'x' b'\\x7f' '\\x41' r\"raw\" r#\"a\"b\"# br#\"x\"# b\"by\\n\"",
        "\"s\\\"t\"suffix 'static &'a str r#type r#match x'y",
        "/// doc\nfn a() {} //! inner\n/** block */ /*! inner */ /* plain /* nested */ */ ////x",
        "/**/ /***/ a/b a/ *b #[attr] #![inner] $x @ ~ ? <<= >>= ..= ::",
        "'\\u{41}' \"\\u{1F600}\" \"a\\\n b\" c\"x\" é",
        "(a]",
        "(a",
        "a)",
        "\"open",
        "/* open",
        "'",
        "0x",
        "1_",
        "r#_",
        "'a'b",
    ] {
        check(t);
    }
}

#[test]
fn follows_ordinary_code_itself() {
    // The common shapes stay on the quick path (the agreement test above passes trivially
    // for text the quick lexer gives up on).
    let mut v = Vec::new();
    for t in [
        "fn f() { let x = a.b(1, None).await?; }",
        "x.0.1 1.0 1. 1..2 1e3 1.5e-3f64 1u8 0x1F 1_000 'a' 'static &'a str r#type",
        "\"s\\\"t\" b'x' r#\"a\"# /// doc\n/* c /* d */ */ #[attr] a / b",
    ] {
        v.clear();
        assert!(lex(t, &mut v).is_some(), "{t}");
        assert!(v.len() > 5);
    }
}

/// Places a byte can land in, `§` standing for it: identifiers, whitespace, comments, each
/// kind of literal and escape, numbers, lifetimes, raw identifiers, delimiters.
const PLACES: [&str; 24] = [
    "§",
    "a§b",
    "x §\n  y",
    "\n    §",
    "// §\nx",
    "/* § */ x",
    "/// §\n",
    "/** § */",
    "\"a§b\"",
    "\"\\§\"",
    "b\"§\"",
    "r#\"§\"#",
    "br\"§\"",
    "'§'",
    "b'§'",
    "'\\§'",
    "\"\\x§f\"",
    "1§2",
    "0x§",
    "1.§",
    "'a§",
    "r#§",
    "(§)",
    "/§",
];

/// A byte is in the subset: printable ASCII, tab or newline.
fn in_subset_char(c: char) -> bool {
    c == '\n' || c == '\t' || (' '..='~').contains(&c)
}

#[test]
fn every_byte_in_every_place() {
    // U+0000..=U+00FF: every ASCII byte, and from 0x80 the two-byte UTF-8 sequences (the
    // only way a non-ASCII byte reaches a `&str`).
    let mut v = Vec::new();
    for c in (0..=255u8).map(char::from) {
        for place in PLACES {
            let text = place.replace('§', c.encode_utf8(&mut [0; 4]));
            if !in_subset_char(c) {
                assert!(lex(&text, &mut v).is_none(), "{text:?}");
            }
            check(&text);
        }
    }
}

#[test]
fn every_pair_and_triple_of_bytes() {
    // Two bytes decide every prefix but a few three-byte ones (`r#"`, `//!`, `/**`, `br#`,
    // `cr"`, `1.e`...), so: all pairs of the subset's bytes, and all triples of the bytes
    // that start or continue a token differently.
    let subset: Vec<char> = (0..128u8)
        .map(char::from)
        .filter(|&c| in_subset_char(c))
        .collect();
    for &a in &subset {
        for &b in &subset {
            check(&format!("{a}{b}"));
            check(&format!("x{a}{b}1 "));
        }
    }
    let telling = "rbc#\"'/*!\\xu0_1e.+-aZ{}( \n";
    for a in telling.chars() {
        for b in telling.chars() {
            for c in telling.chars() {
                check(&format!("{a}{b}{c}"));
                check(&format!("{a}{b}{c}\"#'a */"));
            }
        }
    }
}

#[test]
fn indentation_of_every_width() {
    // Indentation is skipped a word at a time: every width around the word size, before
    // each kind of token, stays on the quick path and agrees.
    let mut v = Vec::new();
    for width in 0..=25 {
        for tail in [
            "x",
            "// c",
            "/* c */ y",
            "/// d",
            "'a'",
            "\"s\"",
            "1.0",
            "\t x",
            "",
        ] {
            for text in [
                format!("{{\n{}{tail}\n}}", " ".repeat(width)),
                format!("a\n{}{tail}", " ".repeat(width)),
            ] {
                assert!(lex(&text, &mut v).is_some(), "{text:?}");
                check(&text);
            }
        }
    }
}

proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config {
        cases: 2000,
        failure_persistence: None,
        ..proptest::test_runner::Config::default()
    })]

    /// Token soup from the pieces where the lexer's decisions are: it gives up, or agrees
    /// with proc-macro2.
    #[test]
    fn agrees_on_token_soup(pieces in proptest::collection::vec(proptest::sample::select(&[
        "r", "b", "c", "br", "cr", "#", "##", "\"", "'", "/", "*", "!", "\\", "x", "u", "{",
        "}", "(", ")", "[", "]", "0", "7", "9", "f", "e", "E", ".", "..", "_", " ", "\n", "\t",
        "a", "Self", "self", "super", "crate", "//", "/*", "*/", "///", "//!", "/**", "/*!",
        "0x", "0b", "0o", "1.", "e+", "-", "é", "\r", "\u{7f}", "'a", "r#", "i32",
        "        ", "\n    ",
    ][..]), 0..20)) {
        check(&pieces.concat());
    }
}

/// Every `.rs` file of a corpus, lexed both ways: run with
/// `LUMENIZE_LEXER_CORPUS=/tmp/rust-corpus cargo test --release -p lumenize-codemod --lib
/// lex::tests -- --ignored --nocapture`.
#[test]
#[ignore = "needs a corpus; slow"]
fn quick_lexer_agrees_on_a_corpus() {
    let Some(root) = std::env::var_os("LUMENIZE_LEXER_CORPUS") else {
        return;
    };
    let (mut files, mut quick, mut stack) = (0, 0, vec![std::path::PathBuf::from(root)]);
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let Ok(text) = std::fs::read_to_string(&p) else {
                    continue;
                };
                let text = &text[crate::text::parse_base(&text)..];
                files += 1;
                let mut v = Vec::new();
                if lex(text, &mut v).is_some() {
                    quick += 1;
                }
                check(text);
            }
        }
    }
    println!("{files} files, {quick} on the quick path, all agreeing");
    assert!(files > 0);
}

#[test]
fn stops_outside_its_subset() {
    let mut v = Vec::new();
    assert!(lex("let é = 1;", &mut v).is_none());
    assert!(lex("\"\\u{41}\"", &mut v).is_none());
    assert!(lex("a\r\nb", &mut v).is_none());
    assert!(lex("(a", &mut v).is_none());
}
