//! What the generator needs to know about one handler, whichever form declared it.

use proc_macro2::{Span, TokenStream};
use syn::{Attribute, Ident, LitStr, Type, Visibility};

/// One exposed method.
pub struct Handler {
    /// The Rust method name (`remind_at`).
    pub rust: Ident,
    /// The name chains call it by (`"remindAt"`, or the Rust name), spanned where it was written.
    pub js: LitStr,
    /// The parameters after `&Ctx`, in order: a name for the builder and the type.
    pub params: Vec<(Ident, Type)>,
    /// Where a return type that cannot cross the wire is reported.
    pub ret_span: Span,
    /// The method's visibility, given to its builder method.
    pub vis: Visibility,
    /// The method's doc attributes, copied onto its builder method.
    pub docs: Vec<Attribute>,
    /// The method's `#[cfg(..)]` attributes, copied onto its dispatch arm and builder method
    /// (a handler compiled out is not dispatched either).
    pub cfgs: Vec<Attribute>,
}

/// The path the generated code uses for lumenize-core (`::lumenize_core`, `$crate`, or the
/// user's `crate = "..."`).
pub type Krate = TokenStream;

/// Checks that the exposed names are unique: a duplicate is an error at its second use. `rename`
/// says how the form at hand gives a method another name.
pub fn check_unique(handlers: &[Handler], rename: &str) -> syn::Result<()> {
    let mut errors: Option<syn::Error> = None;
    for (i, h) in handlers.iter().enumerate() {
        let name = h.js.value();
        if let Some(first) = handlers[..i].iter().find(|o| o.js.value() == name) {
            let e = syn::Error::new(
                h.js.span(),
                format!(
                    "duplicate handler name \"{name}\": `{}` is already exposed under it; \
                     give one of them another name ({rename})",
                    first.rust
                ),
            );
            push(&mut errors, e);
        }
    }
    errors.map_or(Ok(()), Err)
}

/// Checks an exposed name: dot-separated, non-empty segments (a dotted name like
/// `"svc.fetch.handle"` is the chain `get("svc").get("fetch").get("handle").apply(..)`).
pub fn check_name(name: &LitStr) -> syn::Result<()> {
    let value = name.value();
    if value.is_empty() || value.split('.').any(str::is_empty) {
        return Err(syn::Error::new(
            name.span(),
            "a handler name is one or more non-empty segments separated by dots \
             (\"onFetched\", \"svc.fetch.handle\")",
        ));
    }
    Ok(())
}

/// Adds `e` to the errors collected so far (all are reported, not only the first).
pub fn push(errors: &mut Option<syn::Error>, e: syn::Error) {
    match errors {
        Some(all) => all.combine(e),
        None => *errors = Some(e),
    }
}
