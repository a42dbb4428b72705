use rustc_hash::FxHashMap as HashMap;

use super::*;
use crate::lex::kind;
use crate::resolve::scope::{collect_modules, collect_outline, Scope};

/// Module scopes, as `collect_modules` builds them.
type Scopes = HashMap<Vec<String>, Scope>;

/// The scopes from the outline, and from syn's full parse (`None` when it fails).
fn both(text: &str) -> (Option<Scopes>, Option<Scopes>) {
    let m = vec!["crate:x".to_string()];
    let lite = outline(&text[crate::text::parse_base(text)..]).map(|items| {
        let mut out = HashMap::default();
        collect_outline(&items, &m, &mut out);
        out
    });
    let full = syn::parse_file(text).ok().map(|f| {
        let mut out = HashMap::default();
        collect_modules(&f.items, &m, &mut out);
        out
    });
    proc_macro2::extra::invalidate_current_thread_spans();
    (lite, full)
}

/// The walk of `text` (after any BOM and shebang) over both token sources: the quick lexer's
/// (`None` when it does not follow the text) and proc-macro2's.
type Walks = (Option<Option<Vec<Outline>>>, Option<Vec<Outline>>);

fn walks(text: &str) -> Walks {
    let text = &text[crate::text::parse_base(text)..];
    let out = (quick_outline(text), slow_outline(text));
    proc_macro2::extra::invalidate_current_thread_spans();
    out
}

/// The walk over the quick lexer's tokens (`None` when it does not follow the text).
fn quick_outline(text: &str) -> Option<Option<Vec<Outline>>> {
    let mut toks = Vec::new();
    crate::lex::lex(text, &mut toks)?;
    Some(quick::outline(text, &toks))
}

/// The walk over proc-macro2's tokens, doc comments folded (`None` when the text does not lex
/// or the walk gives up).
fn slow_outline(text: &str) -> Option<Vec<Outline>> {
    let slow = crate::lex::slow_tokens(text).ok()?;
    quick::outline(text, &crate::lex::fold_docs(text, slow))
}

/// The outline of `text`, after checking that it takes the quick lexer's path and that the
/// walk over proc-macro2's tokens agrees.
fn quick(text: &str) -> Option<Vec<Outline>> {
    let (q, s) = walks(text);
    let q = q.unwrap_or_else(|| panic!("the quick lexer refused {text:?}"));
    assert_eq!(q, s, "{text:?}");
    q
}

/// A compact form of an outline: names, `-` for unnamed items, `use`, `extern crate`,
/// `mod m;` and `mod m { … }`.
fn summary(items: &[Outline]) -> String {
    let one = |o: &Outline| match o {
        Outline::Item(i) => match **i {
            syn::Item::Use(_) => "use".to_string(),
            syn::Item::ExternCrate(_) => "extern crate".to_string(),
            _ => "?".to_string(),
        },
        Outline::Mod(name, None) => format!("mod {name};"),
        Outline::Mod(name, Some(inner)) => format!("mod {name} {{ {} }}", summary(inner)),
        Outline::Named(name) => name.clone(),
        Outline::Unnamed => "-".to_string(),
    };
    items.iter().map(one).collect::<Vec<_>>().join(" ")
}

/// [`summary`] of the quick path's outline (checked against proc-macro2's), or `None`.
fn quick_summary(text: &str) -> Option<String> {
    quick(text).map(|items| summary(&items))
}

/// The outline and syn's full parse bind the same scopes (both succeed).
fn like_syn(text: &str) -> Scopes {
    let (lite, full) = both(text);
    let (lite, full) = (lite.expect("outline"), full.expect("syn"));
    assert_eq!(lite, full, "{text:?}");
    lite
}

#[test]
fn binds_what_the_full_parse_binds_on_every_fixture() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let files = rust_files(dir);
    assert!(files.len() > 50, "fixtures not found");
    let (mut outlined, mut quick_path) = (0, 0);
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let (lite, full) = both(&text);
        if let (Some(lite), Some(full)) = (&lite, &full) {
            assert_eq!(lite, full, "{}", f.display());
            outlined += 1;
        }
        assert!(
            lite.is_some() || full.is_none() || text.contains("<{"),
            "{}: outline gave up",
            f.display()
        );
        let (q, s) = walks(&text);
        if let Some(q) = q {
            assert_eq!(q, s, "{}: the walks disagree", f.display());
            quick_path += 1;
        }
    }
    assert!(
        outlined * 10 >= files.len() * 9,
        "{outlined} of {}",
        files.len()
    );
    // Only non-ASCII fixtures (and the like) leave the quick path.
    assert!(
        quick_path * 10 >= files.len() * 9,
        "{quick_path} of {}",
        files.len()
    );
}

/// The walks also agree on broken files: each fixture with one of its tokens removed (a
/// sample of them; removing a delimiter would only make the file not lex). That leaves half
/// items of every kind, and sometimes a file that still parses.
#[test]
fn walks_agree_on_fixtures_missing_a_token() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let (mut compared, mut gave_up) = (0, 0);
    for f in rust_files(dir) {
        let text = std::fs::read_to_string(&f).unwrap();
        let mut toks = Vec::new();
        if crate::lex::lex(&text, &mut toks).is_none() {
            continue;
        }
        let step = (toks.len() / 60).max(1);
        for &(k, s, e) in toks.iter().step_by(step) {
            if k == kind::OPEN || k == kind::CLOSE {
                continue;
            }
            let cut = format!("{} {}", &text[..s], &text[e..]);
            if let (Some(q), slow) = walks(&cut) {
                assert_eq!(q, slow, "{} without {:?}", f.display(), &text[s..e]);
                compared += 1;
                gave_up += usize::from(q.is_none());
            }
        }
    }
    assert!(
        compared > 2000 && gave_up > 500,
        "{compared} compared, {gave_up} gave up"
    );
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: std::path::PathBuf) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                files.push(p);
            }
        }
    }
    files
}

/// The same comparisons over a big corpus (the benchmark's third-party crates), both walks
/// against syn and against each other:
/// `LUMENIZE_OUTLINE_CORPUS=/tmp/rust-corpus cargo test --release -p lumenize-codemod
/// --lib outline -- --ignored --nocapture`.
#[test]
#[ignore = "needs a corpus; see the doc comment"]
fn binds_what_the_full_parse_binds_on_a_corpus() {
    let Some(dir) = std::env::var_os("LUMENIZE_OUTLINE_CORPUS") else {
        panic!("set LUMENIZE_OUTLINE_CORPUS to a directory of Rust sources");
    };
    let (mut same, mut gave_up, mut unparsable) = (0, 0, 0);
    let (mut quick_path, mut quick_gave_up, mut slow_path) = (0, 0, 0);
    for f in rust_files(dir.into()) {
        let Ok(text) = std::fs::read_to_string(&f) else {
            continue;
        };
        match walks(&text) {
            (Some(q), s) => {
                assert_eq!(q, s, "{}: the walks disagree", f.display());
                quick_path += 1;
                quick_gave_up += usize::from(q.is_none());
            }
            (None, _) => slow_path += 1,
        }
        match both(&text) {
            (Some(lite), Some(full)) => {
                assert_eq!(lite, full, "{}", f.display());
                same += 1;
            }
            (None, Some(_)) => gave_up += 1,
            (_, None) => unparsable += 1,
        }
    }
    eprintln!("outline: {same} same as syn, {gave_up} gave up, {unparsable} not parsable");
    eprintln!(
        "walks: {quick_path} on the quick lexer's tokens (same over proc-macro2's; \
         {quick_gave_up} gave up), {slow_path} over proc-macro2's only"
    );
    assert!(same > 0 && quick_path > 0);
}

#[test]
fn binds_every_item_kind_like_syn() {
    let text = "#![allow(dead_code)]\n\
        //! doc\n\
        use a::{b, c as d, e::*};\n\
        pub(crate) use ::f::g;\n\
        extern crate h as i;\n\
        /// doc\n#[cfg(test)]\n\
        pub mod j { #![allow(x)] use super::b as k; pub fn l() {} mod m; }\n\
        unsafe mod n2 {}\n\
        const fn o() -> u8 { 1 }\n\
        pub const unsafe extern \"C\" fn p() {}\n\
        async unsafe fn q<T: Into<u8>>(t: T) -> Result<(), ()> where T: Copy { Ok(()) }\n\
        const R: [u8; 2] = [1, 2];\n\
        const _: () = { let s = S { a: 1 }; };\n\
        static mut T1: u8 = 0;\n\
        pub(in crate::j) struct U { a: u8 }\n\
        struct V(u8) where u8: Copy;\n\
        struct W;\n\
        enum X { A = 1, B }\n\
        union Y { a: u8 }\n\
        unsafe auto trait Z {}\n\
        trait Z2 = Clone;\n\
        type A1<T = u8> = Vec<T>;\n\
        impl<T> Z for A1<T> where T: Fn() -> u8 { fn inner() {} }\n\
        unsafe impl Send for U {}\n\
        extern \"C\" { fn ext(); static EXT: u8; }\n\
        macro_rules! mac { () => {}; }\n\
        mac!();\n\
        ::std::println! { \"x\" }\n\
        lazy_static::lazy_static![static ref B1: u8 = 1;];\n";
    assert!(quick(text).is_some(), "the quick walk gave up");
    let lite = like_syn(text);
    let root = &lite[&vec!["crate:x".to_string()]];
    for name in [
        "b", "d", "g", "i", "j", "o", "p", "q", "R", "_", "T1", "U", "V", "W", "X", "Y", "Z", "Z2",
        "A1",
    ] {
        assert!(root.names.contains_key(name), "{name} missing: {root:?}");
    }
    assert!(!root.names.contains_key("ext") && !root.names.contains_key("inner"));
    assert!(lite.contains_key(&vec!["crate:x".to_string(), "j".to_string()]));
}

/// A brace group in a signature ends the walk's idea of the item early; what follows is no
/// item, so it gives up (and the caller parses the file fully).
const GIVE_UPS: [&str; 7] = [
    "fn f() -> A<{ N }> { 1 }",
    "impl X for Y<{ N }> {}",
    "struct S<const N: usize = { 3 }>;",
    "crate fn f() {}",
    "fn f() {} ;",
    "x + 1",
    "fn f() { (",
];

#[test]
fn gives_up_rather_than_guess() {
    for text in GIVE_UPS {
        assert!(outline(text).is_none(), "{text}");
    }
    // It does not look inside bodies: a broken function body still has an outline.
    assert!(outline("use a::b; fn f() { let = ; }").is_some());
}

#[test]
fn both_walks_give_up_on_the_same_texts() {
    for text in GIVE_UPS {
        let (q, s) = walks(text);
        assert!(
            s.is_none(),
            "the walk over proc-macro2's tokens took {text:?}"
        );
        // The last one does not lex; the quick lexer refuses it like proc-macro2.
        assert!(
            q.is_none_or(|q| q.is_none()),
            "the quick walk took {text:?}"
        );
    }
    assert!(quick_summary("use a::b; fn f() { let = ; }").is_some());
}

#[test]
fn doc_comments_are_attributes_inner_or_outer() {
    let text = "//! a\n/*! b */\n#![allow(x)]\n//! c\n\
        /// d\n/** e */\n#[inline]\n/// f\npub fn f() {}\n\
        mod m {\n//! g\n#![allow(y)]\n/// h\nfn h() {}\n}\n\
        /// i\npub use a::b;\n/** j */ extern crate k;\n\
        //// plain\n/*** plain */\n/**/\nfn l() { //! inside a body\n}\n";
    assert_eq!(
        quick_summary(text).as_deref(),
        Some("f mod m { h } use extern crate l")
    );
    like_syn(text);
    // An inner doc comment after an item, or after an outer one, is no attribute the walk
    // knows: it gives up (syn rejects these files too).
    for text in [
        "fn f() {}\n//! late\n",
        "/// outer\n//! inner\nfn f() {}",
        "mod m { fn f() {} /*! late */ }",
        "fn f() {}\n#![late]\n",
        "#[outer] #![inner] fn f() {}",
    ] {
        assert_eq!(quick_summary(text), None, "{text:?}");
    }
    // A doc comment where the walk steps over a token unchecked (after `:` at the start of a
    // macro path): it gives up.
    assert_eq!(quick_summary(": /// d\nfoo! {}"), None);
    assert_eq!(quick_summary(": //! d\nfoo! {}"), None);
    // Doc comments inside a `use` item reach syn as attributes, either way.
    for text in [
        "use a::{/// d\nb};",
        "pub /// d\nuse a::b;",
        "use a::b /** d */;",
    ] {
        quick(text);
    }
}

#[test]
fn raw_identifiers_keep_their_prefix() {
    let text = "fn r#match() {}\nmod r#async { struct r#S; }\nuse a::r#try;\n\
        const r#const: u8 = 1;\npub(crate) static r#static: u8 = 1;\n";
    assert_eq!(
        quick_summary(text).as_deref(),
        Some("r#match mod r#async { r#S } use r#const r#static")
    );
    let scopes = like_syn(text);
    let root = &scopes[&vec!["crate:x".to_string()]];
    assert!(root.names.contains_key("r#match") && root.names.contains_key("r#try"));
    // A raw keyword is an identifier: `r#fn` starts no function (nor does `r#mod` a module).
    assert_eq!(quick_summary("r#fn f() {}"), None);
    assert_eq!(quick_summary("r#mod m;"), None);
    assert_eq!(quick_summary("r#foo! {}").as_deref(), Some("-"));
}

#[test]
fn visibility_in_any_form() {
    let text = "pub(in crate::a) fn f() {}\npub(crate) mod m;\npub(super) use x::y;\n\
        pub(self) struct S;\npub(in super::b) extern crate c as d;\npub (crate) enum E {}\n";
    assert_eq!(
        quick_summary(text).as_deref(),
        Some("f mod m; use S extern crate E")
    );
    like_syn(text);
}

#[test]
fn unsafe_modules_and_extern_blocks() {
    let text = "unsafe mod m { fn f() {} }\nunsafe mod n;\nextern \"C\" { fn x(); }\n\
        extern { static Y: u8; }\nunsafe extern \"C\" { safe fn z(); }\n\
        extern \"C\" fn g() {}\npub unsafe extern \"system\" fn h() {}\nextern crate alloc;\n\
        unsafe impl Send for S {}\n";
    assert_eq!(
        quick_summary(text).as_deref(),
        Some("mod m { f } mod n; - - - g h extern crate -")
    );
    like_syn(text);
}

#[test]
fn macro_items_and_their_semicolons() {
    let text = "foo!();\nfoo![x];\nfoo! { x }\na::b! {}\n::c::d!();\n\
        macro_rules! m { () => {} }\nmacro_rules! n ( () => {} );\nlazy_static! { static ref X: u8 = 1; }\n";
    assert_eq!(quick_summary(text).as_deref(), Some("- - - - - - - -"));
    like_syn(text);
    // A `;` after braces goes with the macro (rustc takes it; syn's full parse does not).
    assert_eq!(
        quick_summary("foo! { x };\nfn f() {}").as_deref(),
        Some("- f")
    );
    for text in [
        "foo!()",
        "foo![] fn f() {}",
        "macro_rules! m ()",
        "macro_rules! {}",
        "a::b;",
        "a::b! x;",
        "foo!",
        "::",
    ] {
        assert_eq!(quick_summary(text), None, "{text:?}");
    }
    // The walk steps over the two tokens of a leading `::` without looking at the second; a
    // group there is one token from either lexer.
    assert_eq!(quick_summary(":(x) foo! {}").as_deref(), Some("-"));
}

#[test]
fn bodies_and_values_are_skipped_whole() {
    let text = "fn f() { if x { { } } }\nstruct S { a: [u8; 3] }\nconst C: [u8; 2] = [1, 2];\n\
        static S2: fn() = || { ; };\ntype T = [u8; { 1 }];\nimpl X { fn g(); }\n\
        trait Tr { fn h() {} }\nenum E { A = { 1 }, B }\nstruct P(u8);\n";
    assert_eq!(quick_summary(text).as_deref(), Some("f S C S2 T - Tr E P"));
    like_syn(text);
    // Items syn keeps as bare tokens bind nothing, in both walks.
    assert_eq!(
        quick_summary("fn f();\nconst C: u8;\nstatic S: u8;\ntype T;\nstruct U;").as_deref(),
        Some("- - - - U")
    );
}

#[test]
fn non_ascii_text_is_walked_over_proc_macro2_tokens() {
    for (text, expect) in [
        ("// café\nuse a::b;\nfn f() {}", "use f"),
        ("fn é() {}\nmod m;", "é mod m;"),
        ("const S: &str = \"\\u{41}\";", "S"),
    ] {
        assert!(quick_outline(text).is_none(), "{text:?}");
        let items = outline(text).unwrap_or_else(|| panic!("{text:?}"));
        assert_eq!(summary(&items), expect);
        proc_macro2::extra::invalidate_current_thread_spans();
    }
}

#[test]
fn quick_walk_refuses_tokens_that_do_not_nest() {
    // The lexer never gives such tokens; the walk must still not panic on them.
    assert!(quick::outline(")", &[(kind::CLOSE, 0, 1)]).is_none());
    assert!(quick::outline("(", &[(kind::OPEN, 0, 1)]).is_none());
    assert_eq!(quick::outline("", &[]), Some(Vec::new()));
}
