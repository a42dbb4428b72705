//! `#[dispatch]` on an `impl` block: which methods are handlers, their options, and the compile
//! errors for the mistakes users make. The block itself is emitted unchanged (minus the
//! `#[handler]` attributes), also when there are errors, so they do not cascade.

use proc_macro2::{Span, TokenStream};
use quote::{quote, ToTokens};
use syn::spanned::Spanned;
use syn::{FnArg, ImplItem, ImplItemFn, ItemImpl, LitStr, Type, Visibility};

use crate::generate::{self, Spans};
use crate::model::{check_name, check_unique, push, Handler, Krate};

/// The attribute's expansion.
pub fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut block: ItemImpl = match syn::parse2(item) {
        Ok(block) => block,
        Err(e) => {
            let e = syn::Error::new(
                e.span(),
                "#[dispatch] goes on an inherent impl block: `impl MyObject { .. }`",
            );
            return e.to_compile_error();
        }
    };
    let krate = match krate_path(args) {
        Ok(k) => k,
        Err(e) => return e.to_compile_error(),
    };
    let generated = handlers_of(&block).and_then(|(ty_name, handlers)| {
        check_unique(&handlers, "#[handler(name = \"...\")]")?;
        let dispatch = generate::dispatch_impl(&krate, &block.self_ty, &handlers, Spans::Source);
        let builder = generate::builder(&krate, &block.self_ty, &ty_name, &handlers);
        Ok(quote! { #dispatch #builder })
    });
    strip_handler_attrs(&mut block);
    let generated = generated.unwrap_or_else(|e| e.to_compile_error());
    quote! { #block #generated }
}

/// `#[dispatch]` → `::lumenize_core`; `#[dispatch(crate = "path")]` → that path (for a renamed
/// dependency or a re-export).
fn krate_path(args: TokenStream) -> syn::Result<Krate> {
    let mut krate = quote! { ::lumenize_core };
    if args.is_empty() {
        return Ok(krate);
    }
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("crate") {
            let lit: LitStr = meta.value()?.parse()?;
            krate = lit.parse::<syn::Path>()?.into_token_stream();
            Ok(())
        } else {
            Err(meta.error("unknown #[dispatch] option; expected `crate = \"path\"`"))
        }
    });
    syn::parse::Parser::parse2(parser, args)?;
    Ok(krate)
}

/// The type's name and its handlers, or every error found (all reported at once).
fn handlers_of(block: &ItemImpl) -> syn::Result<(syn::Ident, Vec<Handler>)> {
    let mut errors = None;
    if let Some((_, path, _)) = &block.trait_ {
        push(
            &mut errors,
            syn::Error::new(
                path.span(),
                "#[dispatch] goes on an inherent impl block (`impl MyObject { .. }`), not a trait impl",
            ),
        );
    }
    if !block.generics.params.is_empty() {
        push(
            &mut errors,
            syn::Error::new(
                block.generics.span(),
                "#[dispatch] does not take a generic impl block: dispatch needs one concrete type \
                 (implement `Dispatch` for each instantiation with `handlers!`)",
            ),
        );
    }
    let ty_name = match &*block.self_ty {
        Type::Path(p) if p.qself.is_none() => p.path.segments.last().map(|s| s.ident.clone()),
        _ => None,
    };
    let ty_name = ty_name.unwrap_or_else(|| {
        push(
            &mut errors,
            syn::Error::new(block.self_ty.span(), "#[dispatch] needs a named type"),
        );
        syn::Ident::new("Unnamed", Span::call_site())
    });
    let mut handlers = Vec::new();
    for item in &block.items {
        if let ImplItem::Fn(f) = item {
            match handler(f) {
                Ok(Some(h)) => handlers.push(h),
                Ok(None) => {}
                Err(e) => push(&mut errors, e),
            }
        }
    }
    match errors {
        Some(e) => Err(e),
        None => Ok((ty_name, handlers)),
    }
}

/// What a `#[handler(..)]` attribute says.
#[derive(Default)]
struct Options {
    /// The attribute is present.
    marked: bool,
    name: Option<LitStr>,
    skip: bool,
}

fn options(f: &ImplItemFn) -> syn::Result<Options> {
    let mut out = Options::default();
    for attr in f.attrs.iter().filter(|a| a.path().is_ident("handler")) {
        out.marked = true;
        if matches!(attr.meta, syn::Meta::Path(_)) {
            continue;
        }
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("name") {
                let name: LitStr = meta.value()?.parse()?;
                check_name(&name)?;
                out.name = Some(name);
                Ok(())
            } else if meta.path.is_ident("skip") {
                out.skip = true;
                Ok(())
            } else {
                Err(meta.error("unknown #[handler] option; expected `name = \"jsName\"` or `skip`"))
            }
        })?;
    }
    Ok(out)
}

/// The handler `f` declares, if it is one: marked `#[handler]`, or `pub` with a `self`
/// receiver, and not `#[handler(skip)]`.
fn handler(f: &ImplItemFn) -> syn::Result<Option<Handler>> {
    let opts = options(f)?;
    let sig = &f.sig;
    let has_receiver = sig.receiver().is_some();
    let public = !matches!(f.vis, Visibility::Inherited);
    if opts.skip || !(opts.marked || (public && has_receiver)) {
        return Ok(None);
    }
    // How to leave a `pub` method out, for the errors about methods that were not marked.
    let hint = if opts.marked {
        ""
    } else {
        "; every `pub` method of a #[dispatch] block is a handler: mark a helper \
         #[handler(skip)], make it private, or move it to another impl block"
    };
    let mut errors = None;
    if let Some(a) = &sig.asyncness {
        push(
            &mut errors,
            syn::Error::new(
                a.span(),
                "a handler cannot be `async`: a handler runs inside one synchronous transaction; \
                 start waiting work with `ctx.call(..)` or a fetch and receive its result in a \
                 continuation (another handler)",
            ),
        );
    }
    if let Some(p) = sig.generics.type_params().next() {
        push(
            &mut errors,
            syn::Error::new(
                p.span(),
                "a handler cannot be generic: its argument types must be known to decode them",
            ),
        );
    }
    let mut inputs = sig.inputs.iter();
    match inputs.next() {
        Some(FnArg::Receiver(r)) if r.reference.is_some() => {}
        Some(FnArg::Receiver(r)) => push(
            &mut errors,
            syn::Error::new(
                r.span(),
                "a handler takes `&mut self` or `&self`, not `self`",
            ),
        ),
        _ => push(
            &mut errors,
            syn::Error::new(
                sig.ident.span(),
                format!("a handler is a method: it takes `&mut self` (or `&self`) first{hint}"),
            ),
        ),
    }
    let ctx_span = match sig.inputs.iter().nth(1) {
        Some(arg) => arg.span(),
        None => sig.paren_token.span.join(),
    };
    match inputs.next() {
        Some(FnArg::Typed(t)) if is_ctx_ref(&t.ty) => {}
        _ => push(
            &mut errors,
            syn::Error::new(
                ctx_span,
                format!(
                    "a handler takes `ctx: &Ctx<'_>` right after `self` (name it `_ctx` if \
                     unused){hint}"
                ),
            ),
        ),
    }
    let mut params = Vec::new();
    for (i, arg) in inputs.enumerate() {
        let FnArg::Typed(t) = arg else { continue };
        match wire_type_error(&t.ty) {
            Some(why) => push(&mut errors, syn::Error::new(t.ty.span(), why)),
            None => params.push((generate::param_name(&t.pat, i), (*t.ty).clone())),
        }
    }
    if let Some(e) = errors {
        return Err(e);
    }
    let js = opts
        .name
        .unwrap_or_else(|| LitStr::new(&sig.ident.to_string(), sig.ident.span()));
    let ret_span = match &sig.output {
        syn::ReturnType::Type(_, ty) => ty.span(),
        syn::ReturnType::Default => sig.ident.span(),
    };
    Ok(Some(Handler {
        rust: sig.ident.clone(),
        js,
        params,
        ret_span,
        vis: f.vis.clone(),
        docs: attrs_named(f, "doc"),
        cfgs: attrs_named(f, "cfg"),
    }))
}

/// The method's attributes named `name`.
fn attrs_named(f: &ImplItemFn, name: &str) -> Vec<syn::Attribute> {
    f.attrs
        .iter()
        .filter(|a| a.path().is_ident(name))
        .cloned()
        .collect()
}

/// `&Ctx<..>` (any path ending in `Ctx`); `&mut Ctx` is not.
fn is_ctx_ref(ty: &Type) -> bool {
    let Type::Reference(r) = ty else { return false };
    if r.mutability.is_some() {
        return false;
    }
    matches!(&*r.elem, Type::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "Ctx"))
}

/// Why a parameter type cannot cross the wire, when that is visible from its syntax (types
/// that merely lack `FromValue` are reported by the trait's own message).
fn wire_type_error(ty: &Type) -> Option<String> {
    match ty {
        Type::Reference(r) => {
            let owned = match &*r.elem {
                Type::Path(p) if p.path.is_ident("str") => "String".to_string(),
                Type::Slice(s) => format!("Vec<{}>", s.elem.to_token_stream()),
                other => other.to_token_stream().to_string(),
            };
            Some(format!(
                "a handler argument cannot be a reference: arguments are decoded from the wire \
                 into owned values; take `{owned}`"
            ))
        }
        Type::ImplTrait(_) | Type::TraitObject(_) | Type::BareFn(_) | Type::Ptr(_) => Some(
            "this type cannot cross the wire: a handler argument is a value decoded from a \
             message (a type implementing `FromValue`: numbers, `String`, `bool`, `Vec<T>`, \
             `Option<T>`, `Value`, or `Serde<T>` for a serde type)"
                .to_string(),
        ),
        Type::Paren(p) => wire_type_error(&p.elem),
        _ => None,
    }
}

/// Removes the `#[handler]` attributes (they only mean something to this macro).
fn strip_handler_attrs(block: &mut ItemImpl) {
    for item in &mut block.items {
        if let ImplItem::Fn(f) = item {
            f.attrs.retain(|a| !a.path().is_ident("handler"));
        }
    }
}
