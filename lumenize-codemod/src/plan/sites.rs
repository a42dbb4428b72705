//! The per-rule rewrites of one call site: what to splice for `sync-fn`, `fn-to-method` and
//! `sync-method` candidates (dropping `.await`, a `None` argument, moving the receiver,
//! adding a value adapter), and what to report when a site cannot be changed safely.

use syn::{Expr, ExprAwait, ExprCall, ExprMethodCall};

use super::state::{Ctx, Maybe, Recv, Rewriter, Target};
use crate::results::Severity;
use crate::syntax::peel;
use crate::text::{has_comment, is_blank, line_end_after_newline, line_start};

fn is_none(e: &Expr) -> bool {
    match peel(e) {
        Expr::Path(p) if p.qself.is_none() => {
            let segs: Vec<String> = p
                .path
                .segments
                .iter()
                .map(|s| s.ident.to_string())
                .collect();
            matches!(
                segs.iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .as_slice(),
                ["None"] | ["Option", "None"] | ["std" | "core", "option", "Option", "None"]
            )
        }
        _ => false,
    }
}

/// Receivers that need parentheses before `.method(..)` (anything not already postfix-tight).
fn needs_parens(e: &Expr) -> bool {
    !matches!(
        e,
        Expr::Path(_)
            | Expr::Field(_)
            | Expr::MethodCall(_)
            | Expr::Call(_)
            | Expr::Index(_)
            | Expr::Paren(_)
            | Expr::Macro(_)
            | Expr::Lit(_)
            | Expr::Tuple(_)
            | Expr::Array(_)
            | Expr::Try(_)
            | Expr::Await(_)
    )
}

impl Rewriter<'_> {
    /// The range to delete to drop `.await` from `aw`: from the end of the awaited expression
    /// when only whitespace separates them, else just `.await` (so a comment in between stays).
    /// When `.await` then stands alone on its line (a comment ends the line above), the whole
    /// line goes, so no whitespace-only line is left behind: use [`Self::await_deletion`] when
    /// the range is replaced by nothing.
    fn await_removal(&self, aw: &ExprAwait) -> (usize, usize) {
        let (dot, _) = self.src().span(aw.dot_token.span);
        let (_, end) = self.src().span(aw.await_token.span);
        let base_end = match peel(&aw.base) {
            Expr::Call(c) => self.src().span(c.paren_token.span.close()).1,
            Expr::MethodCall(m) => self.src().span(m.paren_token.span.close()).1,
            other => self.src().expr(other).1,
        };
        if base_end <= dot && is_blank(&self.src().text[base_end..dot]) {
            (base_end, end)
        } else {
            (dot, end)
        }
    }

    /// [`Self::await_removal`] for a plain deletion: when only whitespace would be left on the
    /// line of `.await`, its indentation and line break go too (never a comment: the line holds
    /// nothing but `.await` and blanks).
    fn await_deletion(&self, aw: &ExprAwait) -> (usize, usize) {
        let (s, e) = self.await_removal(aw);
        let text = self.src().text;
        let ls = line_start(text, s);
        let le = line_end_after_newline(text, e);
        if is_blank(&text[ls..s]) && is_blank(&text[e..le]) {
            (ls, le)
        } else {
            (s, e)
        }
    }

    /// Deletes the `.await` of `aw`. When that would leave `?`/`;` alone on a line below a
    /// line comment (`parse(s) // decode` / `    .await?;`), the `?;` moves up before the
    /// comment and the line goes (`parse(s)?; // decode`): the tokens keep their order.
    fn delete_await(&mut self, rule: &str, aw: &ExprAwait) {
        let (s, e) = self.await_deletion(aw);
        match self.lone_tail(aw, (s, e)) {
            Some((base_end, tail, line)) => {
                self.splice(rule, (base_end, base_end), &tail);
                self.splice(rule, line, "");
            }
            None => self.splice(rule, (s, e), ""),
        }
    }

    /// For [`Self::delete_await`]: where the awaited call ends, the `?`/`;` tail after
    /// `.await`, and the range of the line holding them, when that line holds nothing else
    /// and the line above ends in a line comment.
    fn lone_tail(
        &self,
        aw: &ExprAwait,
        (s, e): (usize, usize),
    ) -> Option<(usize, String, (usize, usize))> {
        let text = self.src().text;
        let (dot, _) = self.src().span(aw.dot_token.span);
        if s != dot {
            return None;
        }
        let ls = line_start(text, dot);
        if ls == 0 || !is_blank(&text[ls..dot]) {
            return None;
        }
        let le = line_end_after_newline(text, e);
        let tail = text[e..le].trim_end();
        if tail.is_empty() || !tail.chars().all(|c| c == '?' || c == ';') {
            return None;
        }
        let base_end = match peel(&aw.base) {
            Expr::Call(c) => self.src().span(c.paren_token.span.close()).1,
            Expr::MethodCall(m) => self.src().span(m.paren_token.span.close()).1,
            _ => return None,
        };
        // Between the call and that line: blanks, then one line comment (no doc comment).
        let between = text.get(base_end..ls)?;
        let comment = between.trim_start();
        let one_line = comment.trim_end().lines().count() == 1;
        let plain =
            comment.starts_with("//") && !comment.starts_with("///") && !comment.starts_with("//!");
        (plain && one_line && !comment.contains("/*"))
            .then(|| (base_end, tail.to_string(), (ls, le)))
    }

    /// The range that removes argument `k` of `args` together with its separator. For a later
    /// argument it runs from the comma after the previous one, so a comment written before
    /// that comma (it belongs to the previous argument) stays.
    fn arg_removal(
        &self,
        args: &syn::punctuated::Punctuated<Expr, syn::Token![,]>,
        k: usize,
    ) -> Option<(usize, usize)> {
        let arg = args.iter().nth(k)?;
        let (s, e) = self.src().expr(arg);
        if k > 0 {
            let comma = args.pairs().nth(k - 1)?.punct().copied()?;
            Some((self.src().span(comma.span).0, e))
        } else if let Some(next) = args.iter().nth(1) {
            Some((s, self.src().expr(next).0))
        } else {
            Some((s, e))
        }
    }

    /// Entry point for an awaited expression found in context `ctx`.
    pub(crate) fn on_await(&mut self, aw: &ExprAwait, ctx: Ctx) {
        let at = self.src().span(aw.await_token.span).0;
        if !self.claim_await(at) {
            return;
        }
        match peel(&aw.base) {
            Expr::Call(call) => {
                let Some(target) = self.call_target(call) else {
                    return;
                };
                self.mark_call_handled(call);
                match target {
                    Target::SyncFn(i) => self.rewrite_sync_fn(aw, call, i),
                    Target::FnToMethod(i) => self.rewrite_fn_to_method(aw, call, i),
                    Target::Unsure(name) => self.report_unsure(call, &name),
                    Target::Maybe(m) => {
                        let func = self.src().expr(&call.func);
                        let written = self.src().slice(func).to_string();
                        self.report_maybe(func.0, &written, &m);
                    }
                }
            }
            Expr::MethodCall(mc) => {
                let Some(i) = self.method_rule(mc) else {
                    return;
                };
                match self.receiver_class(&mc.receiver, i) {
                    Recv::Evident => self.rewrite_method(aw, mc, i, ctx),
                    Recv::Other => {}
                    Recv::Unknown if self.evidence() => {
                        let rule = self.rules().sync_methods[i].rule.clone();
                        let at = self.src().span(mc.method.span()).0;
                        self.note(
                            at,
                            &rule,
                            Severity::NeedsReview,
                            format!(
                                "`.{}(..).await`: the receiver is not evidently of type `{}`; if it is one, \
                                 drop `.await` by hand (annotate the binding's type to let the tool do it)",
                                mc.method,
                                self.receiver_hint(i)
                            ),
                        );
                    }
                    Recv::Unknown => {}
                }
            }
            Expr::Path(p) if p.qself.is_none() && p.path.segments.len() == 1 => {
                let name = p.path.segments[0].ident.to_string();
                if let Some((rule, call_at, what)) = self.deferred(&name) {
                    let line = self.line_of(call_at);
                    let now = self.rules().era(&rule).now;
                    self.note(
                        at,
                        &rule,
                        Severity::NeedsReview,
                        format!(
                            "`{name}.await` awaits `{what}` from line {line}, which is synchronous \
                             {now}: remove this `.await` (and any options argument) by hand"
                        ),
                    );
                }
            }
            _ => {}
        }
    }

    pub(crate) fn deferred(&self, name: &str) -> Option<(String, usize, String)> {
        for f in self.frames().iter().rev() {
            if let Some(d) = f.deferred.get(name) {
                return Some(d.clone());
            }
            if f.vars.contains_key(name) || f.barrier {
                return None;
            }
        }
        None
    }

    /// A call that may be a target re-exported by a dependency the run did not read (see
    /// [`Target::Maybe`]): reported, whatever the file mentions (its crate depends on one that
    /// depends on the target package). `written` is the call's path as written.
    pub(crate) fn report_maybe(&mut self, at: usize, written: &str, m: &Maybe) {
        let Some((rule, path)) = self.rules().fn_path_named(&m.name) else {
            return;
        };
        let rule = rule.to_string();
        let dep = &m.dep;
        let package = self
            .resolver()
            .ctx
            .unread
            .get(dep)
            .map_or(dep.as_str(), String::as_str);
        let message = format!(
            "`{written}(..)` may be `{path}` re-exported by `{dep}`; the tool did not read \
             `{dep}` (package `{package}`, which depends on a package the rules migrate): \
             check it by hand"
        );
        self.note(at, &rule, Severity::NeedsReview, message);
    }

    fn report_unsure(&mut self, call: &ExprCall, name: &str) {
        if !self.evidence() {
            return;
        }
        let at = self.src().expr(&call.func).0;
        let Some(rule) = self.rules().fn_rule_named(name) else {
            return;
        };
        self.note(
            at,
            rule,
            Severity::NeedsReview,
            format!(
                "could not tell where `{name}` comes from (a glob import of a module this run \
                 did not see, or the crate's own library named without its Cargo.toml?); if it \
                 is the 0.9 lumenize API, migrate this call by hand"
            ),
        );
    }

    fn rewrite_sync_fn(&mut self, aw: &ExprAwait, call: &ExprCall, i: usize) {
        let rules = self.rules();
        let rule = &rules.sync_fns[i];
        let name = self.src().slice(self.src().expr(&call.func)).to_string();
        let at = self.src().expr(&call.func).0;
        let mut arg_cut = None;
        if let Some(k) = rule.drop_none_arg {
            let n = call.args.len();
            if n == k + 1 {
                let arg = &call.args[k];
                if !is_none(arg) {
                    let new_api = self.rules().era(&rule.rule).new_api;
                    self.note(
                        at,
                        &rule.rule,
                        Severity::NeedsReview,
                        format!(
                            "`{name}` is passed options (`{}`), which {new_api} removed: port the \
                             transform by hand, then drop the argument and `.await`",
                            self.src().slice(self.src().expr(arg))
                        ),
                    );
                    return;
                }
                let cut = self.arg_removal(&call.args, k).expect("argument k exists");
                // The argument is the last one: what lies between the cut's start and `)`
                // (a trailing comma, blanks) must hold no comment, or it would move or vanish.
                let close = self.src().span(call.paren_token.span.close()).0;
                if has_comment(self.src().slice((cut.0, close.max(cut.1)))) {
                    self.note(
                        at,
                        &rule.rule,
                        Severity::NeedsReview,
                        format!(
                            "`{name}`: a comment sits next to the `None` options argument; \
                             remove the argument and `.await` by hand so the comment is not lost"
                        ),
                    );
                    return;
                }
                arg_cut = Some(cut);
            } else if n != k {
                self.note(
                    at,
                    &rule.rule,
                    Severity::NeedsReview,
                    format!(
                        "`{name}` is called with {n} arguments, expected {}: migrate it by hand",
                        k + 1
                    ),
                );
                return;
            }
        }
        if let Some(cut) = arg_cut {
            self.splice(&rule.rule, cut, "");
            self.report_stale_comment(call, &rule.rule, &name);
        }
        self.delete_await(&rule.rule, aw);
        let what = if arg_cut.is_some() {
            "dropped `.await` and the `None` options argument"
        } else {
            "dropped `.await`"
        };
        let now = self.rules().era(&rule.rule).now;
        self.note(
            at,
            &rule.rule,
            Severity::Edited,
            format!("`{name}` is synchronous {now}: {what}"),
        );
    }

    /// After the `None` options argument of `call` was dropped: a line comment on the line
    /// where the call ends that speaks of it (`None`, options) is now stale; say so.
    fn report_stale_comment(&mut self, call: &ExprCall, rule: &str, name: &str) {
        let text = self.src().text;
        let close = self.src().span(call.paren_token.span.close()).1;
        let line = &text[close..line_end_after_newline(text, close)];
        let Some(i) = line.find("//") else {
            return;
        };
        let comment = line[i..].trim_end();
        let lower = comment.to_lowercase();
        if lower.contains("none") || lower.contains("option") {
            self.note(
                close + i,
                rule,
                Severity::NeedsReview,
                format!(
                    "`{name}`: this comment (`{comment}`) may speak of the options argument that \
                     was removed: update it by hand"
                ),
            );
        }
    }

    fn rewrite_fn_to_method(&mut self, aw: &ExprAwait, call: &ExprCall, i: usize) {
        let rules = self.rules();
        let rule = &rules.fn_to_methods[i];
        let (fs, _) = self.src().expr(&call.func);
        let name = self.src().slice(self.src().expr(&call.func)).to_string();
        let Some(recv) = call.args.iter().nth(rule.receiver_arg) else {
            self.note(
                fs,
                &rule.rule,
                Severity::NeedsReview,
                format!(
                    "`{name}` has no argument {}: migrate it by hand",
                    rule.receiver_arg + 1
                ),
            );
            return;
        };
        let inner = match recv {
            // `&mut *self` (a reborrow) becomes `self`: a method call reborrows by itself, so
            // `self.m()` is `(*self).m()`, the form a reviewer expects.
            Expr::Reference(r) => match &*r.expr {
                Expr::Unary(syn::ExprUnary {
                    op: syn::UnOp::Deref(_),
                    expr,
                    ..
                }) if matches!(&**expr, Expr::Path(p) if p.qself.is_none()) => &**expr,
                e => e,
            },
            other => other,
        };
        let inner_text = self.src().slice(self.src().expr(inner));
        let receiver = if needs_parens(inner) {
            format!("({inner_text})")
        } else {
            inner_text.to_string()
        };
        let cut = self
            .arg_removal(&call.args, rule.receiver_arg)
            .expect("receiver argument exists");
        let removed = self.src().slice(cut).replacen(inner_text, "", 1);
        if has_comment(&removed) {
            self.note(
                fs,
                &rule.rule,
                Severity::NeedsReview,
                format!("`{name}`: a comment sits next to the target argument; rewrite to `{receiver}.{}(..)` by hand", rule.method),
            );
            return;
        }
        let open_end = self.src().span(call.paren_token.span.open()).1;
        self.splice(
            &rule.rule,
            (fs, open_end),
            &format!("{receiver}.{}(", rule.method),
        );
        self.splice(&rule.rule, cut, "");
        self.delete_await(&rule.rule, aw);
        self.note(
            fs,
            &rule.rule,
            Severity::Edited,
            format!("`{name}(..).await` became `{receiver}.{}(..)`", rule.method),
        );
        if rule.import.is_some() {
            let m = self.module().clone();
            self.need_import(m, i);
        }
    }

    fn rewrite_method(&mut self, aw: &ExprAwait, mc: &ExprMethodCall, i: usize, ctx: Ctx) {
        let rules = self.rules();
        let rule = &rules.sync_methods[i];
        let at = self.src().span(mc.method.span()).0;
        let removal = self.await_deletion(aw);
        let (how, adapter_at) = match (ctx, &rule.value_adapter, &rule.unwrapped_adapter) {
            (Ctx::Value, Some(v), _) => {
                // Replaced, not deleted: the adapter keeps `.await`'s place on its line.
                self.splice(&rule.rule, self.await_removal(aw), v);
                (format!("kept the old value with `{v}`"), None)
            }
            (Ctx::Try(end) | Ctx::Unwrapped(end), _, Some(u)) => {
                self.splice(&rule.rule, removal, "");
                (
                    format!("kept the old value with `{u}`"),
                    Some((end, u.clone())),
                )
            }
            _ => {
                self.delete_await(&rule.rule, aw);
                ("dropped `.await`".to_string(), None)
            }
        };
        if let Some((end, text)) = adapter_at {
            self.splice(&rule.rule, (end, end), &text);
        }
        let now = self.rules().era(&rule.rule).now;
        self.note(
            at,
            &rule.rule,
            Severity::Edited,
            format!("`.{}(..)` is synchronous {now}: {how}", mc.method),
        );
    }

    /// A target call that is not directly awaited: the 0.9 future is stored or passed on.
    pub(crate) fn on_unawaited_call(&mut self, call: &ExprCall) {
        // Most calls are no target: find that out (by name, cheaply) before computing spans.
        let target = match self.call_target(call) {
            Some(t @ (Target::SyncFn(_) | Target::FnToMethod(_))) => t,
            _ => return,
        };
        if self.call_handled(call) {
            return;
        }
        let func = self.src().expr(&call.func);
        let at = func.0;
        let name = self.src().slice(func).to_string();
        match target {
            Target::SyncFn(i) => {
                let rule = &self.rules().sync_fns[i];
                if rule.drop_none_arg.is_some_and(|k| call.args.len() == k + 1) {
                    let id = rule.rule.clone();
                    let old_form = self.rules().era(&id).old_form;
                    self.note(
                        at,
                        &id,
                        Severity::NeedsReview,
                        format!(
                            "`{name}(..)` ({old_form}) is not awaited here, so its future is \
                             stored or passed on: drop the options argument and the later \
                             `.await` by hand"
                        ),
                    );
                }
            }
            Target::FnToMethod(i) => {
                let rule = &self.rules().fn_to_methods[i];
                let (id, method) = (rule.rule.clone(), rule.method.clone());
                let now = self.rules().era(&id).now;
                self.note(
                    at,
                    &id,
                    Severity::NeedsReview,
                    format!(
                        "`{name}(..)` is not awaited directly: rewrite it to `target.{method}(chain)` \
                         by hand (it no longer exists {now})"
                    ),
                );
            }
            Target::Unsure(_) | Target::Maybe(_) => {}
        }
    }
}
