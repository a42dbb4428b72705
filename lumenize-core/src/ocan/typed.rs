//! Typed handlers and continuations: what [`#[dispatch]`](crate::dispatch) generates, and the
//! argument types of its typed builders.
//!
//! Put `#[dispatch]` on an inherent `impl` block. Its handlers are every `pub` method with a
//! `self` receiver, plus any method marked `#[handler]`; `#[handler(name = "onFetched")]` gives
//! the name chains use (a TypeScript caller's camelCase, or a dotted path like
//! `"svc.fetch.handle"`), `#[handler(skip)]` leaves a `pub` method out. A handler takes
//! `&mut self` (or `&self`), then `ctx: &Ctx<'_>`, then its arguments (any [`FromValue`](super::FromValue) type),
//! and returns any [`IntoHandlerResult`](super::IntoHandlerResult). The macro generates
//! [`Dispatch`](super::Dispatch) for the type (as [`handlers!`](crate::handlers) does) and a
//! builder: `Desk::ctn().remind(what)` is the [`OperationChain`] calling `remind` with `what`,
//! checked at compile time: the method must exist, and each argument must be an [`Arg`] of the
//! parameter's type.
//!
//! ```
//! use lumenize_core::prelude::*;
//!
//! #[derive(Default)]
//! pub struct Desk { rung: Vec<String> }
//!
//! #[lumenize_core::dispatch]
//! impl Desk {
//!     /// Rings a reminder.
//!     pub fn ring(&mut self, _ctx: &Ctx<'_>, what: String) -> usize {
//!         self.rung.push(what);
//!         self.rung.len()
//!     }
//!
//!     /// Schedules `ring(what)` in `secs` seconds; the chain is checked when this compiles.
//!     pub fn remind(&mut self, ctx: &Ctx<'_>, what: String, secs: f64) -> Result<String, String> {
//!         let s = ctx.alarms().schedule(When::delay_secs(secs), Desk::ctn().ring(what));
//!         s.map(|s| s.id).map_err(|e| e.to_string())
//!     }
//!
//!     /// Exposed as `onFetched`, the name a TypeScript caller uses.
//!     #[handler(name = "onFetched")]
//!     pub fn on_fetched(&mut self, _ctx: &Ctx<'_>, tag: String, outcome: Value) {}
//!
//!     /// Not a handler: no `pub`, no `#[handler]`.
//!     fn helper(&self) {}
//! }
//!
//! // The builder names the method by its exposed name and converts the arguments.
//! let chain = Desk::ctn().on_fetched("a", Value::from(200.0));
//! assert_eq!(chain.method_path().as_deref(), Some("onFetched"));
//! assert_eq!(
//!     chain.stringify().unwrap(),
//!     ctn().call("onFetched", vec!["a".into(), 200.0.into()]).stringify().unwrap(),
//! );
//! ```
//!
//! Mistakes are compile errors: a method the type does not expose, an argument of the wrong type
//! (`Desk::ctn().ring(5.0)`), an `async` handler, a handler without `&Ctx`, an argument that
//! cannot cross the wire (`&str`: take `String`), two handlers under one name.
//!
//! # Results and `$result`
//!
//! A builder yields a plain [`OperationChain`], so everything chains do stays expressible. A
//! continuation receives the result of the call it follows in place of its `$result`
//! placeholder: pass [`ResultMarker`] for that parameter (any parameter type accepts it; take
//! the result as [`Value`] when it may be an `Error` value, as a failed call delivers). A
//! nested operation (run against the same object when the chain runs, its result becoming the
//! argument) is [`Nested`]. A chain can go on past the call (`.get("field")` reads a property
//! of the result), and [`OperationChain::with_result`] fills the placeholder by hand.
//!
//! ```
//! use lumenize_core::ocan::{Nested, ResultMarker};
//! use lumenize_core::prelude::*;
//!
//! pub struct Asker;
//!
//! #[lumenize_core::dispatch]
//! impl Asker {
//!     /// Asks `peer` to add 2; the sum comes back to `answered`.
//!     pub fn ask(&mut self, ctx: &Ctx<'_>, peer: String) -> Result<(), String> {
//!         let to = Address::object("ADDER", peer);
//!         let then = Asker::ctn().answered("sum", ResultMarker);
//!         ctx.call_raw(&to, &Adder::ctn().add(2.0), Some(&then)).map_err(|e| e.to_string())
//!     }
//!
//!     /// The continuation: `answer` is the sum, or the `Error` value of a failed call.
//!     pub fn answered(&mut self, _ctx: &Ctx<'_>, label: String, answer: Value) {}
//! }
//!
//! pub struct Adder { n: f64 }
//!
//! #[lumenize_core::dispatch]
//! impl Adder {
//!     pub fn add(&mut self, _ctx: &Ctx<'_>, by: f64) -> f64 { self.n += by; self.n }
//!     pub fn total(&self, _ctx: &Ctx<'_>) -> f64 { self.n }
//! }
//!
//! // The placeholder is the original's `$result` marker, in the same place on the wire.
//! let then = Asker::ctn().answered("sum", ResultMarker);
//! assert_eq!(
//!     then.stringify().unwrap(),
//!     ctn().call("answered", vec!["sum".into(), result_marker()]).stringify().unwrap(),
//! );
//! let filled = then.with_result(Value::from(3.0));
//! assert!(filled.is_data_arg(1, 1));
//!
//! // `add(total())`: the nested call runs first, on the same object.
//! let twice = Adder::ctn().add(Nested(Adder::ctn().total()));
//! assert_eq!(twice.method_path().as_deref(), Some("add"));
//! ```
//!
//! `#[dispatch(crate = "path")]` names lumenize-core by another path (a renamed dependency or a
//! re-export); the default is `::lumenize_core`. A type's `#[dispatch]` block generates a
//! builder type named after it (`DeskCtn`, as visible as the most visible handler) and an
//! associated function `ctn()`.

use super::{result_marker, IntoValue, OperationChain};
use crate::structured_clone::Value;

/// A value a typed builder accepts for a handler parameter of type `T`: a `T` itself (any
/// [`IntoValue`] type, e.g. `f64`, `String`, `Vec<T>`, `Option<T>`, [`Value`],
/// [`Serde<T>`](super::Serde)), a `&str` for a `String`, the `$result` placeholder
/// [`ResultMarker`], or a [`Nested`] chain.
///
/// ```
/// use lumenize_core::ocan::{Arg, ResultMarker};
/// /// assert_eq!(<_ as Arg<String>>::into_arg("hi").as_str(), Some("hi"));
/// assert_eq!(<_ as Arg<f64>>::into_arg(2.0).as_f64(), Some(2.0));
/// assert!(lumenize_core::ocan::is_nested_marker(&<_ as Arg<f64>>::into_arg(ResultMarker)));
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an argument for a handler parameter of type `{T}`",
    label = "expected `{T}`",
    note = "a typed builder takes the parameter's own type (`&str` for `String`), `ResultMarker` for the `$result` placeholder, or `Nested(chain)`"
)]
pub trait Arg<T> {
    /// The argument as it goes on the wire.
    fn into_arg(self) -> Value;
}

impl<T: IntoValue> Arg<T> for T {
    fn into_arg(self) -> Value {
        self.into_value()
    }
}

impl Arg<String> for &str {
    fn into_arg(self) -> Value {
        Value::from(self)
    }
}

impl Arg<String> for &String {
    fn into_arg(self) -> Value {
        Value::from(self.as_str())
    }
}

/// The `$result` placeholder as a typed builder's argument (`ctn().$result` in the original;
/// the same marker as [`result_marker`]): replaced by the result the continuation receives.
/// Any parameter type accepts it; the value delivered must still convert at run time (a failed
/// call delivers an `Error` value, which only a [`Value`] parameter takes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ResultMarker;

impl<T> Arg<T> for ResultMarker {
    fn into_arg(self) -> Value {
        result_marker()
    }
}

/// A nested operation as a typed builder's argument: when the outer chain runs, this chain runs
/// first against the same object and its result becomes the argument
/// ([`OperationChain::nested`]).
#[derive(Clone, Debug)]
pub struct Nested(pub OperationChain);

impl<T> Arg<T> for Nested {
    fn into_arg(self) -> Value {
        self.0.nested()
    }
}
