//! Name resolution, textual and crate-local: what does a path written in some module refer to?
//!
//! This is deliberately not rustc's resolver. It follows `use` items (aliases, groups, globs,
//! `self`/`super`/`crate`, `extern crate … as …`) through the modules it knows (the current
//! file's, plus those [`CrateContext::scan`] collected), and answers one of three things:
//! the path leads into an external crate (and which item), it names something defined in this
//! crate, or it cannot tell. Callers edit only on the first, and report on "cannot tell".
//!
//! - `scope`: the names a module or block binds ([`Scope`]).
//! - `layout`: which module a file is ([`module_path_for`]).
//! - `outline`: a file's module-level items without parsing bodies (for the scan).
//! - `context` and `scan`: what the resolver knows about the rest of the crate
//!   ([`CrateContext`]) and how it is gathered.
//! - `resolver`: the lookup itself ([`Resolver`]).

mod context;
mod layout;
pub(crate) mod outline;
mod resolver;
mod scan;
pub(crate) mod scope;

pub use context::{CrateContext, Dependencies};
pub(crate) use layout::module_path_for;
pub(crate) use resolver::{Res, Resolver};
pub(crate) use scope::{collect_modules, Binding, ModPath, Scope};

#[cfg(test)]
mod tests {
    use std::path::Path;

    use rustc_hash::FxHashMap as HashMap;

    use super::resolver::INLINE;
    use super::*;

    fn segs(s: &str) -> Vec<String> {
        s.split("::").map(String::from).collect()
    }

    #[test]
    fn module_paths_follow_cargo_layout() {
        let m = |p: &str| module_path_for(Path::new(p))[1..].join("::");
        assert_eq!(m("app/src/lib.rs"), "");
        assert_eq!(m("app/src/a/b.rs"), "a::b");
        assert_eq!(m("app/src/a/mod.rs"), "a");
        assert_eq!(m("app/tests/it.rs"), "");
        // Paths are crate-relative: the first `src` anchors, a later one is a module dir.
        assert_eq!(m("src/tests/x.rs"), "tests::x");
        assert_eq!(m("app/src/tests/mod.rs"), "tests");
        assert_eq!(m("src/examples/benches.rs"), "examples::benches");
        assert_eq!(
            module_path_for(Path::new("src/tests/x.rs"))[0],
            module_path_for(Path::new("src/lib.rs"))[0]
        );
        assert_ne!(
            module_path_for(Path::new("app/src/bin/x.rs"))[0],
            module_path_for(Path::new("app/src/main.rs"))[0]
        );
        assert_eq!(
            module_path_for(Path::new("app/src/main.rs")),
            module_path_for(Path::new("app/src/lib.rs"))
        );
    }

    #[test]
    fn follows_reexports_across_files() {
        let files = [
            (
                Path::new("app/src/lib.rs"),
                "mod compat; mod b; pub use compat::sc as clone;",
            ),
            (
                Path::new("app/src/compat.rs"),
                "pub use lumenize_core::structured_clone as sc;",
            ),
            (Path::new("app/src/b.rs"), "pub use crate::clone::parse;"),
        ];
        let ctx = CrateContext::scan(files.iter().map(|(p, t)| (*p, *t)));
        let empty = HashMap::default();
        let is_target = |_: &[String]| false;
        let r = Resolver::new(&ctx, &empty, &is_target);
        let main = module_path_for(Path::new("app/src/main.rs"));
        assert_eq!(
            r.resolve(&main, &[], &segs("crate::b::parse")),
            Res::Extern(segs("lumenize_core::structured_clone::parse"))
        );
        assert_eq!(
            r.resolve(&main, &[], &segs("str::parse")),
            Res::Extern(segs("str::parse"))
        );
        assert!(ctx.export_names.contains("sc"));
    }

    #[test]
    fn lib_name_reaches_the_library_from_tests_and_binaries_only() {
        let files = [
            (
                Path::new("Cargo.toml"),
                "[package]\nname = \"reminder-desk\"\n",
            ),
            (Path::new("src/lib.rs"), "pub mod lmz;"),
            (
                Path::new("src/lmz.rs"),
                "pub use lumenize_core::structured_clone::stringify;",
            ),
        ];
        let ctx = CrateContext::scan(files.iter().map(|(p, t)| (*p, *t)));
        let empty = HashMap::default();
        let is_target = |_: &[String]| false;
        let r = Resolver::new(&ctx, &empty, &is_target);
        let target = Res::Extern(segs("lumenize_core::structured_clone::stringify"));
        for outside in [
            "tests/flow.rs",
            "examples/demo.rs",
            "benches/b.rs",
            "src/bin/cli.rs",
        ] {
            let m = module_path_for(Path::new(outside));
            let path = segs("reminder_desk::lmz::stringify");
            assert_eq!(r.resolve(&m, &[], &path), target, "{outside}");
        }
        // Inside the library the name is not itself (it would not compile).
        let lib = module_path_for(Path::new("src/lmz.rs"));
        assert_eq!(
            r.resolve(&lib, &[], &segs("reminder_desk::lmz::stringify")),
            Res::Extern(segs("reminder_desk::lmz::stringify"))
        );
        // Without a library target there is nothing to reach.
        let bin_only = [
            (Path::new("Cargo.toml"), "[package]\nname = \"tool\"\n"),
            (Path::new("src/main.rs"), "mod lmz;"),
        ];
        let ctx = CrateContext::scan(bin_only.iter().map(|(p, t)| (*p, *t)));
        assert!(ctx.libs.is_empty());
    }

    #[test]
    fn other_crates_reexports_resolve_transitively_and_stay_apart() {
        use std::sync::Arc;
        let rules = crate::rules::RuleSet::builtin();
        let scan = |files: &[(&str, &str)], deps: &Dependencies| {
            let files = files.iter().map(|(p, t)| (Path::new(*p), *t));
            CrateContext::scan_library(files, &rules, deps)
        };
        // c: a glob of a module; b: c re-exported under another name, and its own rename of
        // lumenize-core (which must not leak into the dependent).
        let c = scan(
            &[(
                "src/lib.rs",
                "pub mod clone { pub use lumenize_core::structured_clone::*; }",
            )],
            &Dependencies::default(),
        );
        let mut b_deps = Dependencies::default();
        b_deps.add_library("c_core", Arc::new(c));
        let b = scan(
            &[
                (
                    "Cargo.toml",
                    "[package]\nname = \"b\"\n[dependencies]\nlc = { package = \"lumenize-core\" }\n",
                ),
                ("src/lib.rs", "pub mod x;\npub use c_core::clone as via_c;"),
                ("src/x.rs", "pub use lc::structured_clone::stringify as enc;"),
                ("src/bin/tool.rs", "pub use lc::structured_clone::parse;"),
            ],
            &b_deps,
        );
        assert!(b.leads_to_target() && b.export_names.contains("enc"));
        let quiet = scan(
            &[("src/lib.rs", "pub use serde::Serialize;")],
            &Dependencies::default(),
        );
        assert!(!quiet.leads_to_target());
        let mut deps = Dependencies::default();
        deps.add_library("b", Arc::new(b));
        deps.add_library("quiet", Arc::new(quiet));
        let files = [(Path::new("src/lib.rs"), "pub fn f() {}")];
        let ctx = CrateContext::scan_linked(files, &rules, &deps);
        assert!(ctx.export_names.contains("b") && !ctx.export_names.contains("quiet"));
        let empty = HashMap::default();
        let is_target = |p: &[String]| rules.names_path(p);
        let r = Resolver::new(&ctx, &empty, &is_target);
        let lib = module_path_for(Path::new("src/lib.rs"));
        let at = |p: &str| r.resolve(&lib, &[], &segs(p));
        let target = |p: &str| Res::Extern(segs(&format!("lumenize_core::structured_clone::{p}")));
        assert_eq!(at("b::via_c::parse"), target("parse"));
        let mut absolute = segs("b::x::enc");
        absolute.insert(0, "::".to_string());
        assert_eq!(r.resolve(&lib, &[], &absolute), target("stringify"));
        // `lc` is b's name for lumenize-core, not this crate's; b's binary is not its library.
        assert_eq!(
            at("lc::structured_clone::parse"),
            Res::Extern(segs("lc::structured_clone::parse"))
        );
        assert_eq!(at("b::parse"), Res::Local);
        assert_eq!(
            at("quiet::Serialize"),
            Res::Extern(segs("quiet::Serialize"))
        );
    }

    #[test]
    fn glob_cycles_terminate() {
        // `pub use child::*;` in a parent whose children all `use super::*;`: every lookup of
        // a missing name used to walk the cycle exponentially up to the depth limit.
        let mut lib = String::from("pub use lumenize_core::structured_clone::parse;\n");
        let mut files = Vec::new();
        for i in 0..8 {
            lib.push_str(&format!("mod c{i};\npub use c{i}::*;\n"));
            files.push((
                format!("app/src/c{i}.rs"),
                "use super::*;\npub use super::*;\npub fn parse_helper() {}\n".to_string(),
            ));
        }
        files.push(("app/src/lib.rs".to_string(), lib));
        let ctx = CrateContext::scan(
            files
                .iter()
                .map(|(p, t)| (Path::new(p.as_str()), t.as_str())),
        );
        // The file being migrated (c3) contributes its own scope, as in `migrate_source`.
        let c3 = module_path_for(Path::new("app/src/c3.rs"));
        let mut own = HashMap::default();
        let parsed = syn::parse_file("use super::*;\npub use super::*;\n").unwrap();
        collect_modules(&parsed.items, &c3, &mut own);
        let is_target = |p: &[String]| p.last().is_some_and(|l| l == "parse");
        let r = Resolver::new(&ctx, &own, &is_target);
        assert_eq!(
            r.resolve(&c3, &[], &segs("parse")),
            Res::Extern(segs("lumenize_core::structured_clone::parse"))
        );
        assert!(matches!(
            r.resolve(&c3, &[], &segs("missing")),
            Res::Extern(_) | Res::Local | Res::Unknown
        ));
    }

    #[test]
    fn paths_longer_than_the_stack_buffer_resolve_whole() {
        let files = [(
            Path::new("app/src/lib.rs"),
            "pub use lumenize_core::a::b::c::d::e::f::g as deep;",
        )];
        let ctx = CrateContext::scan(files.iter().map(|(p, t)| (*p, *t)));
        let empty = HashMap::default();
        let is_target = |_: &[String]| false;
        let r = Resolver::new(&ctx, &empty, &is_target);
        let root = module_path_for(Path::new("app/src/lib.rs"));
        // 3 + 8 segments once the re-export is followed: more than `INLINE`.
        let written = segs("crate::deep::h::i::j::k::l::m::n::o");
        assert!(written.len() > INLINE);
        assert_eq!(
            r.resolve(&root, &[], &written),
            Res::Extern(segs(
                "lumenize_core::a::b::c::d::e::f::g::h::i::j::k::l::m::n::o"
            ))
        );
        let mut long = segs("x::a::b::c::d::e::f::g::h::i");
        long.insert(0, "::".to_string());
        assert_eq!(
            r.resolve(&root, &[], &long),
            Res::Extern(long[1..].to_vec())
        );
    }

    #[test]
    fn the_remembered_module_never_answers_for_another() {
        // Two modules binding the same name differently, resolved alternately: the module
        // remembered from the previous lookup must not leak into the next one.
        let file = "use lumenize_core::alarms as x;\n\
                    mod a { use lumenize_core::structured_clone as x; }\n\
                    mod b { pub fn x() {} }\n";
        let m = module_path_for(Path::new("app/src/lib.rs"));
        let mut own = HashMap::default();
        collect_modules(&syn::parse_file(file).unwrap().items, &m, &mut own);
        let ctx = CrateContext::default();
        let is_target = |_: &[String]| false;
        let r = Resolver::new(&ctx, &own, &is_target);
        let child = |name: &str| {
            let mut c = m.clone();
            c.push(name.to_string());
            c
        };
        let (a, b, c) = (child("a"), child("b"), child("c"));
        for _ in 0..2 {
            assert_eq!(
                r.resolve(&a, &[], &segs("x::parse")),
                Res::Extern(segs("lumenize_core::structured_clone::parse"))
            );
            assert_eq!(
                r.resolve(&m, &[], &segs("x::Alarms")),
                Res::Extern(segs("lumenize_core::alarms::Alarms"))
            );
            assert_eq!(r.resolve(&b, &[], &segs("x")), Res::Local);
            // A module nobody recorded (in an unscanned crate): cannot tell.
            assert_eq!(r.resolve(&c, &[], &segs("x::parse")), Res::Unknown);
            assert_eq!(
                r.resolve(&m, &[], &segs("crate::a::x::parse")),
                Res::Extern(segs("lumenize_core::structured_clone::parse"))
            );
        }
    }

    #[test]
    fn block_scopes_shadow_innermost_first_and_lend_their_globs() {
        let m = module_path_for(Path::new("app/src/lib.rs"));
        let mut own = HashMap::default();
        let file = "use lumenize_core::structured_clone::parse;";
        collect_modules(&syn::parse_file(file).unwrap().items, &m, &mut own);
        let ctx = CrateContext::default();
        let is_target = |p: &[String]| p.join("::") == "lumenize_core::alarms::When";
        let r = Resolver::new(&ctx, &own, &is_target);
        let block = |src: &str| {
            let mut s = Scope::default();
            for item in syn::parse_file(src).unwrap().items {
                s.add_item(&item);
            }
            s
        };
        let outer = block("use lumenize_core::ocan::parse;");
        let inner = block("fn parse() {}");
        let globs = block("use lumenize_core::alarms::*;");
        assert_eq!(
            r.resolve(&m, &[], &segs("parse")),
            Res::Extern(segs("lumenize_core::structured_clone::parse"))
        );
        assert_eq!(
            r.resolve(&m, &[&outer], &segs("parse")),
            Res::Extern(segs("lumenize_core::ocan::parse"))
        );
        assert_eq!(r.resolve(&m, &[&outer, &inner], &segs("parse")), Res::Local);
        assert_eq!(
            r.resolve_in(&m, [&inner, &outer].into_iter(), &segs("parse")),
            Res::Extern(segs("lumenize_core::ocan::parse"))
        );
        // A block's glob supplies a name only when it makes a target path.
        assert_eq!(
            r.resolve(&m, &[&globs], &segs("When")),
            Res::Extern(segs("lumenize_core::alarms::When"))
        );
        assert_eq!(
            r.resolve(&m, &[&globs], &segs("Other")),
            Res::Extern(segs("Other"))
        );
    }
}
