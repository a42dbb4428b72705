//! The procedural macros of [`lumenize-core`](https://docs.rs/lumenize-core): use them through
//! that crate (`#[lumenize_core::dispatch]`), whose documentation has the examples and the
//! rules. The generated code names `::lumenize_core` (or the path given with
//! `#[dispatch(crate = "...")]`), so this crate is not meant to be depended on directly.
//!
//! ```
//! use lumenize_core::prelude::*;
//!
//! pub struct Desk;
//!
//! #[lumenize_core::dispatch]
//! impl Desk {
//!     #[handler(name = "onRing")]
//!     pub fn ring(&mut self, _ctx: &Ctx<'_>, what: String) -> String { what }
//! }
//!
//! let chain = Desk::ctn().ring("tea");
//! assert_eq!(chain.method_path().as_deref(), Some("onRing"));
//! ```
//!
//! Files: `model.rs` (what a handler is, for the generator), `attr.rs` (reading an `impl` block
//! and its `#[handler]` options, with the compile errors for mistakes), `list.rs` (the
//! `handlers!` list form), `generate.rs` (the `Dispatch` impl and the typed builder).

#![warn(missing_docs)]

use proc_macro::TokenStream;

mod attr;
mod generate;
mod list;
mod model;

/// (Implemented in `lumenize-macros`; the rules, the compile errors and more examples are in
/// lumenize-core's `ocan::typed` module.)
#[proc_macro_attribute]
pub fn dispatch(args: TokenStream, item: TokenStream) -> TokenStream {
    attr::expand(args.into(), item.into()).into()
}

/// The generator behind `lumenize_core::handlers!` (the list form):
/// `__handlers_list!($crate; Type { method (as "jsName")? (arg: Ty, ..), .. })`.
#[doc(hidden)]
#[proc_macro]
pub fn __handlers_list(input: TokenStream) -> TokenStream {
    list::expand(input.into()).into()
}
