//! The list form behind `handlers!`: `$crate; Type { method (as "jsName")? (arg: Ty, ..), .. }`,
//! where the macro_rules wrapper supplies `$crate` (so the path is right wherever it expands).

use proc_macro2::{TokenStream, TokenTree};
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{braced, parenthesized, Ident, LitStr, Token, Type, Visibility};

use crate::generate::{self, Spans};
use crate::model::{check_name, check_unique, Handler, Krate};

/// The expansion.
pub fn expand(input: TokenStream) -> TokenStream {
    match syn::parse2::<List>(input) {
        Ok(list) => match check_unique(&list.handlers, "method as \"name\"") {
            Ok(()) => {
                generate::dispatch_impl(&list.krate, &list.ty, &list.handlers, Spans::MacroRules)
            }
            Err(e) => e.to_compile_error(),
        },
        Err(e) => e.to_compile_error(),
    }
}

struct List {
    krate: Krate,
    ty: Type,
    handlers: Vec<Handler>,
}

impl Parse for List {
    fn parse(input: ParseStream) -> syn::Result<List> {
        // The crate path: the tokens before `;` (`$crate` is an identifier syn's paths refuse).
        let mut krate = TokenStream::new();
        while !input.peek(Token![;]) {
            krate.extend([input.parse::<TokenTree>()?]);
        }
        input.parse::<Token![;]>()?;
        let ty: Type = input.parse()?;
        let body;
        braced!(body in input);
        let entries = Punctuated::<Entry, Token![,]>::parse_terminated(&body)?;
        let handlers = entries.into_iter().map(|e| e.0).collect();
        // Nothing may follow the braces (the old macro_rules form accepted nothing either).
        if !input.is_empty() {
            return Err(input.error("unexpected tokens after the handler list"));
        }
        Ok(List {
            krate: quote! { #krate },
            ty,
            handlers,
        })
    }
}

/// `method (as "jsName")? (arg: Ty, ..)`.
struct Entry(Handler);

impl Parse for Entry {
    fn parse(input: ParseStream) -> syn::Result<Entry> {
        let rust: Ident = input.parse()?;
        let js = if input.peek(Token![as]) {
            input.parse::<Token![as]>()?;
            let name: LitStr = input.parse()?;
            check_name(&name)?;
            name
        } else {
            LitStr::new(&rust.to_string(), rust.span())
        };
        let args;
        parenthesized!(args in input);
        let params = Punctuated::<Param, Token![,]>::parse_terminated(&args)?;
        Ok(Entry(Handler {
            ret_span: rust.span(),
            rust,
            js,
            params: params.into_iter().map(|p| (p.name, p.ty)).collect(),
            vis: Visibility::Inherited,
            docs: Vec::new(),
            cfgs: Vec::new(),
        }))
    }
}

/// `arg: Ty`.
struct Param {
    name: Ident,
    ty: Type,
}

impl Parse for Param {
    fn parse(input: ParseStream) -> syn::Result<Param> {
        let name = input.parse()?;
        input.parse::<Token![:]>()?;
        Ok(Param {
            name,
            ty: input.parse()?,
        })
    }
}
