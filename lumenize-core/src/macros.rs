//! The [`handlers!`](crate::handlers) macro: expose a type's methods for dispatch by name.

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

/// Implements [`Dispatch`](crate::ocan::Dispatch) for a type by listing the methods that
/// chains may call. Each listed method is an ordinary method of the type taking
/// `&mut self`, `&Ctx`, then the listed parameters (any [`FromValue`] type), and returning any
/// [`IntoHandlerResult`](crate::ocan::IntoHandlerResult) (a value, or `Result<value, E: Display>`).
/// `method as "jsName"` exposes it under another name (e.g. the camelCase name a TypeScript
/// caller uses); a dotted name like `"svc.fetch.handle"` matches the chain
/// `ctn().svc.fetch.handle(..)`.
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
    ($ty:ty { $( $method:ident $(as $alias:literal)? ( $( $arg:ident : $argty:ty ),* $(,)? ) ),* $(,)? }) => {
        impl $crate::ocan::Dispatch for $ty {
            fn type_name(&self) -> &'static str {
                stringify!($ty)
            }

            fn method_names(&self) -> ::std::option::Option<&'static [&'static str]> {
                ::std::option::Option::Some(&[$($crate::__lmz_method_name!($method $(, $alias)?)),*])
            }

            #[allow(unused_variables, unused_mut, unused_assignments)]
            fn dispatch(
                &mut self,
                ctx: &$crate::context::Ctx<'_>,
                method: &str,
                args: ::std::vec::Vec<$crate::structured_clone::Value>,
            ) -> ::std::result::Result<$crate::structured_clone::Value, $crate::ocan::ChainError> {
                $(
                    if method == $crate::__lmz_method_name!($method $(, $alias)?) {
                        let expected: usize = <[&str]>::len(&[$(stringify!($arg)),*]);
                        if args.len() > expected {
                            return Err($crate::ocan::ChainError::WrongArgCount {
                                method: method.to_string(),
                                expected,
                                got: args.len(),
                            });
                        }
                        let mut it = args.into_iter();
                        let mut index = 0usize;
                        // One expansion budget for all the arguments; closed before the call.
                        let scope = $crate::macros::ArgScope::open();
                        $(
                            let $arg: $argty = $crate::macros::next_arg(&mut it, method, index)?;
                            index += 1;
                        )*
                        ::std::mem::drop(scope);
                        return $crate::ocan::IntoHandlerResult::into_handler_result(
                            self.$method(ctx $(, $arg)*),
                        );
                    }
                )*
                Err($crate::ocan::ChainError::UnknownMethod {
                    target: stringify!($ty).to_string(),
                    method: method.to_string(),
                })
            }
        }
    };
}

/// The exposed name of a method: its alias, or its Rust name.
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
