//! Macro bodies and doc comments: the places syn does not parse for us.
//!
//! A known expression-list macro (`assert!`, `println!`, `vec!`, `tokio::join!`, … — the list
//! is rule data) is parsed as comma-separated expressions, keeping the original token spans,
//! and visited like any other code, so the same splices apply. When that parse fails
//! (`tokio::select!` branches, `vec![x; n]`) the body is scanned token by token: a candidate
//! directly followed by `.await` is cut out with its receiver chain, parsed as an expression
//! and rewritten the same way; brace groups are tried as blocks. In every other macro, and in
//! doc comments, candidates are reported, never edited and never skipped silently.

use proc_macro2::{Delimiter, TokenStream, TokenTree};
use std::collections::BTreeSet;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::visit::Visit;
use syn::{Expr, Token};

use super::state::{Ctx, Recv, Rewriter, Target};
use crate::results::Severity;
use crate::syntax::peel;

fn is_punct(t: Option<&TokenTree>, c: char) -> bool {
    matches!(t, Some(TokenTree::Punct(p)) if p.as_char() == c)
}

fn is_ident(t: Option<&TokenTree>, name: &str) -> bool {
    matches!(t, Some(TokenTree::Ident(i)) if i == name)
}

fn is_paren(t: Option<&TokenTree>) -> bool {
    matches!(t, Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Parenthesis)
}

/// Top-level commas in a group's body (its argument count minus one, near enough).
fn top_level_commas(g: &TokenTree) -> usize {
    match g {
        TokenTree::Group(g) => g
            .stream()
            .into_iter()
            .filter(|t| matches!(t, TokenTree::Punct(p) if p.as_char() == ','))
            .count(),
        _ => 0,
    }
}

impl Rewriter<'_> {
    /// True when the body's source text names nothing the rewriter acts on (see `inert`):
    /// visiting it would find nothing, so it is not parsed (most `format!`/`println!` bodies).
    fn inert_macro(&mut self, mac: &syn::Macro) -> bool {
        let span = match &mac.delimiter {
            syn::MacroDelimiter::Paren(p) => p.span.join(),
            syn::MacroDelimiter::Brace(b) => b.span.join(),
            syn::MacroDelimiter::Bracket(b) => b.span.join(),
        };
        let (s, e) = self.src().span(span);
        self.inert(s, e)
    }

    /// Handles one macro invocation (or `macro_rules!` definition).
    pub(crate) fn macro_body(&mut self, mac: &syn::Macro) {
        if self.inert_macro(mac) {
            return;
        }
        let name = mac
            .path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default();
        if self.rules().expression_macros.contains(&name) {
            let parser = Punctuated::<Expr, Token![,]>::parse_terminated;
            if let Ok(list) = parser.parse2(mac.tokens.clone()) {
                if self.rules().implicit_await_macros.contains(&name) {
                    for e in &list {
                        self.implicitly_awaited(e, &name);
                    }
                }
                for e in &list {
                    self.visit_expr(e);
                }
                return;
            }
            self.scan_tokens(mac.tokens.clone(), &name, true);
        } else {
            self.scan_tokens(mac.tokens.clone(), &name, false);
        }
    }

    /// An expression given to `join!`-like macros is awaited by the macro: a target there is
    /// no future in 1.0, and the fix (call it before the macro) is a person's call.
    fn implicitly_awaited(&mut self, e: &Expr, mac: &str) {
        let (at, rule, what) = match peel(e) {
            Expr::Call(c) => {
                let rule = match self.call_target(c) {
                    Some(Target::SyncFn(i)) => self.rules().sync_fns[i].rule.clone(),
                    Some(Target::FnToMethod(i)) => self.rules().fn_to_methods[i].rule.clone(),
                    _ => return,
                };
                let at = self.src().expr(&c.func).0;
                self.mark_call_handled(c);
                (
                    at,
                    rule,
                    format!("{}(..)", self.src().slice(self.src().expr(&c.func))),
                )
            }
            Expr::MethodCall(mc) => {
                let Some(i) = self.method_rule(mc) else {
                    return;
                };
                match self.receiver_class(&mc.receiver, i) {
                    Recv::Evident => {}
                    Recv::Unknown if self.evidence() => {}
                    _ => return,
                }
                let at = self.src().span(mc.method.span()).0;
                (
                    at,
                    self.rules().sync_methods[i].rule.clone(),
                    format!(".{}(..)", mc.method),
                )
            }
            _ => return,
        };
        let now = self.rules().era(&rule).now;
        self.note(
            at,
            &rule,
            Severity::NeedsReview,
            format!(
                "`{what}` is awaited implicitly by `{mac}!`, but is synchronous {now}: \
                 call it before `{mac}!` by hand"
            ),
        );
    }

    /// Token-level pass over a macro body. With `edit`, awaited candidates are rewritten;
    /// otherwise every candidate is reported.
    fn scan_tokens(&mut self, ts: TokenStream, mac: &str, edit: bool) {
        let tts: Vec<TokenTree> = ts.into_iter().collect();
        let implicit = self.rules().implicit_await_macros.contains(mac);
        for i in 0..tts.len() {
            let id = match &tts[i] {
                TokenTree::Group(g) => {
                    if edit && g.delimiter() == Delimiter::Brace {
                        let one = TokenStream::from(tts[i].clone());
                        if let Ok(block) = syn::parse2::<syn::Block>(one) {
                            self.visit_block(&block);
                            continue;
                        }
                    }
                    self.scan_tokens(g.stream(), mac, edit);
                    continue;
                }
                TokenTree::Ident(id) => id,
                _ => continue,
            };
            self.record_ident(id);
            if !is_paren(tts.get(i + 1)) {
                continue;
            }
            let awaited = is_punct(tts.get(i + 2), '.') && is_ident(tts.get(i + 3), "await");
            let method = i > 0 && is_punct(tts.get(i - 1), '.');
            let start = if method {
                match receiver_start(&tts, i - 1) {
                    Some(s) => s,
                    None => continue,
                }
            } else {
                path_start(&tts, i)
            };
            // Is it a candidate at all?
            let (rule, old_form) = if method {
                match self
                    .rules()
                    .sync_methods
                    .iter()
                    .find(|m| m.methods.iter().any(|n| id == n))
                {
                    Some(m) if awaited || implicit => (m.rule.clone(), false),
                    _ => continue,
                }
            } else {
                if !self.is_call_name(id) {
                    continue;
                }
                let segs = path_segments(&tts[start..=i]);
                match self.segs_target(&segs) {
                    Some(Target::SyncFn(k)) => {
                        let r = &self.rules().sync_fns[k];
                        let old = r
                            .drop_none_arg
                            .is_some_and(|a| top_level_commas(&tts[i + 1]) >= a);
                        (r.rule.clone(), old)
                    }
                    Some(Target::FnToMethod(k)) => {
                        (self.rules().fn_to_methods[k].rule.clone(), true)
                    }
                    Some(Target::Maybe(m)) => {
                        // Reported (never edited: nothing tells what `m.dep` re-exports).
                        if awaited || implicit {
                            let (at, end) = self.src().span(id.span());
                            let s = self.src().span(tts[start].span()).0;
                            let written = self.src().slice((s, end)).to_string();
                            self.report_maybe(at, &written, &m);
                            if let TokenTree::Group(g) = &tts[i + 1] {
                                self.scan_tokens(g.stream(), mac, edit);
                            }
                        }
                        continue;
                    }
                    Some(Target::Unsure(_)) if self.evidence() => {
                        match self.rules().default_fn_rule() {
                            Some(rule) => (rule.to_string(), awaited),
                            None => continue,
                        }
                    }
                    _ => continue,
                }
            };
            if edit && awaited {
                let slice: TokenStream = tts[start..=i + 3].iter().cloned().collect();
                if let Ok(Expr::Await(aw)) = syn::parse2::<Expr>(slice) {
                    let ctx = after_await_ctx(self, &tts, i + 3);
                    self.on_await(&aw, ctx);
                    // The arguments may hold more candidates.
                    if let TokenTree::Group(g) = &tts[i + 1] {
                        self.scan_tokens(g.stream(), mac, edit);
                    }
                    continue;
                }
            }
            if !(awaited || old_form || implicit) {
                continue;
            }
            if method && !self.evidence() {
                continue;
            }
            let at = self.src().span(id.span()).0;
            let how = if edit {
                format!("is awaited implicitly by `{mac}!`")
            } else {
                format!("sits inside `{mac}!`, whose body this tool does not rewrite")
            };
            let what = if method {
                format!(".{id}(..)")
            } else {
                format!("{id}(..)")
            };
            self.note(
                at,
                &rule,
                Severity::NeedsReview,
                format!("`{what}` {how}: migrate it by hand"),
            );
        }
    }

    /// Reports doc comments (and so doctests) that use a target with `.await`.
    pub(crate) fn doc_attribute(&mut self, a: &syn::Attribute) {
        if !self.evidence() || !a.path().is_ident("doc") {
            return;
        }
        let syn::Meta::NameValue(nv) = &a.meta else {
            return;
        };
        let Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        }) = &nv.value
        else {
            return;
        };
        // Most doc comments mention no target: decide that on their source text when it has no
        // escapes (then it holds the comment's text verbatim), without unescaping a copy.
        let raw = self.src().slice(self.src().span(s.span()));
        let mentions = |t: &str| {
            t.contains("await")
                || self
                    .rules()
                    .fn_to_methods
                    .iter()
                    .any(|r| r.paths.iter().any(|p| t.contains(p.last())))
        };
        if !raw.is_empty() && !raw.contains('\\') && !mentions(raw) {
            return;
        }
        let text = s.value();
        if !text.contains("await")
            && !self
                .rules()
                .fn_to_methods
                .iter()
                .any(|r| r.paths.iter().any(|p| text.contains(p.last())))
        {
            return;
        }
        let r = self.rules();
        let names = r
            .sync_fns
            .iter()
            .flat_map(|f| f.paths.iter().map(move |p| (p.last().to_string(), &f.rule)))
            .chain(
                r.fn_to_methods
                    .iter()
                    .flat_map(|f| f.paths.iter().map(move |p| (p.last().to_string(), &f.rule))),
            )
            .chain(
                r.sync_methods
                    .iter()
                    .flat_map(|m| m.methods.iter().map(move |n| (n.clone(), &m.rule))),
            );
        let mut hit = None;
        let methods: BTreeSet<&str> = r
            .sync_methods
            .iter()
            .flat_map(|m| m.methods.iter().map(String::as_str))
            .collect();
        for (name, rule) in names {
            let method = methods.contains(name.as_str());
            if let Some(line) = text.lines().find(|l| {
                calls(l, &name, method)
                    && (l.contains("await") || r.fn_to_methods.iter().any(|f| f.rule == *rule))
            }) {
                hit = Some((rule.clone(), name, line.trim().to_string()));
                break;
            }
        }
        if let Some((rule, name, line)) = hit {
            let at = self.src().node(a).0;
            let old_name = self.rules().era(&rule).old_name;
            self.note(
                at,
                &rule,
                Severity::NeedsReview,
                format!(
                    "documentation uses {old_name} `{name}` (`{line}`): update the example by hand"
                ),
            );
        }
    }
}

/// Start index of the receiver chain ending just before the `.` at `dot`.
fn receiver_start(tts: &[TokenTree], dot: usize) -> Option<usize> {
    let mut dot = dot;
    loop {
        let j = dot.checked_sub(1)?;
        let start = match &tts[j] {
            TokenTree::Ident(_) => path_start(tts, j),
            TokenTree::Group(g) if g.delimiter() != Delimiter::Brace => {
                if j > 0 && matches!(tts[j - 1], TokenTree::Ident(_)) {
                    path_start(tts, j - 1)
                } else {
                    j
                }
            }
            TokenTree::Literal(_) => j,
            _ => return None,
        };
        // `a.b` chains continue through single dots (not `..`).
        if start > 0
            && is_punct(tts.get(start - 1), '.')
            && !(start > 1 && is_punct(tts.get(start - 2), '.'))
        {
            dot = start - 1;
            continue;
        }
        return Some(start);
    }
}

/// Start index of the `a::b::c` path whose last identifier is at `i`.
fn path_start(tts: &[TokenTree], i: usize) -> usize {
    let mut s = i;
    while s >= 2 && is_punct(tts.get(s - 1), ':') && is_punct(tts.get(s - 2), ':') {
        if s >= 3 && matches!(tts[s - 3], TokenTree::Ident(_)) {
            s -= 3;
        } else {
            s -= 2;
            break;
        }
    }
    s
}

/// Path segments of the tokens `a :: b :: c` (a leading `::` becomes a `"::"` segment).
fn path_segments(tts: &[TokenTree]) -> Vec<String> {
    let mut segs = Vec::new();
    if is_punct(tts.first(), ':') {
        segs.push("::".to_string());
    }
    segs.extend(tts.iter().filter_map(|t| match t {
        TokenTree::Ident(i) => Some(i.to_string()),
        _ => None,
    }));
    segs
}

/// What follows the `await` at `j`: `?`, `.unwrap()` / `.expect(..)`, or something else.
fn after_await_ctx(rw: &Rewriter<'_>, tts: &[TokenTree], j: usize) -> Ctx {
    if let Some(TokenTree::Punct(p)) = tts.get(j + 1) {
        if p.as_char() == '?' {
            return Ctx::Try(rw.src().span(p.span()).1);
        }
    }
    if is_punct(tts.get(j + 1), '.')
        && (is_ident(tts.get(j + 2), "unwrap") || is_ident(tts.get(j + 2), "expect"))
        && is_paren(tts.get(j + 3))
    {
        return Ctx::Unwrapped(rw.src().span(tts[j + 3].span()).1);
    }
    Ctx::Value
}

/// Does `line` (of a doc comment) call `name`: `name(` as a whole word, after `.` for a method
/// and not after `.` for a free function (`s.parse()` is `str::parse`, `reparse(x)` no call of
/// `parse`)?
fn calls(line: &str, name: &str, method: bool) -> bool {
    let call = format!("{name}(");
    line.match_indices(&call).any(|(i, _)| {
        let before = line[..i].chars().next_back();
        let word = before.is_some_and(|c| c.is_alphanumeric() || c == '_');
        !word && (before == Some('.')) == method
    })
}
