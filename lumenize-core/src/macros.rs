//! The [`handlers!`](crate::handlers) macro and the run-time helpers of the code it and
//! [`#[dispatch]`](crate::dispatch) generate: expose a type's methods for dispatch by name.

use crate::ocan::{ChainError, FromValue};
use crate::structured_clone::Value;

/// Takes the next argument and converts it (missing trailing arguments are `undefined`, as in
/// JavaScript, so `Option` parameters may be omitted). Used by [`handlers!`](crate::handlers).
#[doc(hidden)]
pub fn next_arg<T: FromValue>(
    args: &mut std::vec::IntoIter<Value>,
    method: &str,
    index: usize,
) -> Result<T, ChainError> {
    let value = args.next().unwrap_or(Value::Undefined);
    crate::ocan::convert::convert_arg(value).map_err(|got| ChainError::BadArgument {
        method: method.to_string(),
        index,
        expected: T::EXPECTED.to_string(),
        got,
    })
}

/// The budget scope of one call's argument conversions: shared objects repeated across all of
/// a call's arguments are charged together. Used by [`handlers!`](crate::handlers).
#[doc(hidden)]
pub use crate::ocan::convert::ArgScope;

/// Refuses a call with more arguments than the handler takes (fewer are fine: the missing
/// ones are `undefined`). Used by the generated dispatch.
#[doc(hidden)]
pub fn check_arg_count(method: &str, got: usize, expected: usize) -> Result<(), ChainError> {
    if got > expected {
        return Err(ChainError::WrongArgCount {
            method: method.to_string(),
            expected,
            got,
        });
    }
    Ok(())
}

/// Implements [`Dispatch`](crate::ocan::Dispatch) for a type by listing the methods that
/// chains may call: the list form of [`#[dispatch]`](crate::dispatch), which reads the
/// signatures from the `impl` block itself and also generates typed continuation builders.
/// Both forms share one generator (the `lumenize-macros` crate), so a call dispatches, converts
/// its arguments and fails the same way.
///
/// Each listed method is an ordinary method of the type taking `&mut self` (or `&self`),
/// `&Ctx`, then the listed parameters (any [`FromValue`] type), and returning any
/// [`IntoHandlerResult`](crate::ocan::IntoHandlerResult) (a value, or `Result<value, E: Display>`).
/// `method as "jsName"` exposes it under another name (e.g. the camelCase name a TypeScript
/// caller uses); a dotted name like `"svc.fetch.handle"` matches the chain
/// `ctn().svc.fetch.handle(..)`. A name listed twice is a compile error.
///
/// ```
/// use lumenize_core::prelude::*;
///
/// #[derive(Default)]
/// struct Counter { n: f64 }
///
/// impl Counter {
///     fn add(&mut self, _ctx: &Ctx<'_>, by: f64) -> f64 { self.n += by; self.n }
///     fn fail(&mut self, _ctx: &Ctx<'_>, why: String) -> Result<(), String> { Err(why) }
/// }
///
/// lumenize_core::handlers!(Counter {
///     add(by: f64),
///     fail as "failWith"(why: String),
/// });
/// ```
#[macro_export]
macro_rules! handlers {
    ($($list:tt)*) => {
        $crate::__handlers_list! { $crate; $($list)* }
    };
}

/// The exposed name of a method: its alias, or its Rust name. No longer used by `handlers!`;
/// kept for dispatch macros written after its old expansion (the migration fixtures' legacy
/// shim re-exports it).
#[doc(hidden)]
#[macro_export]
macro_rules! __lmz_method_name {
    ($method:ident) => {
        stringify!($method)
    };
    ($method:ident, $alias:literal) => {
        $alias
    };
}

#[cfg(test)]
mod tests {
    use crate::ocan::{ctn, Dispatch};
    use crate::prelude::Ctx;

    /// An object inside this crate: the generated `::lumenize_core` paths resolve here too.
    #[derive(Default)]
    struct Probe;

    #[crate::dispatch]
    impl Probe {
        #[handler(name = "ping")]
        fn ping(&mut self, _ctx: &Ctx<'_>, n: f64) -> f64 {
            n
        }
    }

    #[test]
    fn dispatch_works_inside_the_crate() {
        assert_eq!(Probe.type_name(), "Probe");
        let typed = Probe::ctn().ping(1.0).stringify().unwrap();
        let by_hand = ctn().call("ping", vec![1.0.into()]).stringify().unwrap();
        assert_eq!(typed, by_hand);
    }
}
