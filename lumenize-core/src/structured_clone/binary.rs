//! Typed-array names and element conversion (JavaScript's `ToInt8`, `ToUint8Clamp`, ...).

use super::value::TypedArrayKind;

impl TypedArrayKind {
    /// Every kind, in the order the wire format's `subtype` names them.
    pub const ALL: [TypedArrayKind; 11] = [
        TypedArrayKind::Int8Array,
        TypedArrayKind::Uint8Array,
        TypedArrayKind::Uint8ClampedArray,
        TypedArrayKind::Int16Array,
        TypedArrayKind::Uint16Array,
        TypedArrayKind::Int32Array,
        TypedArrayKind::Uint32Array,
        TypedArrayKind::Float32Array,
        TypedArrayKind::Float64Array,
        TypedArrayKind::BigInt64Array,
        TypedArrayKind::BigUint64Array,
    ];

    /// The JavaScript constructor name, as the wire's `subtype` carries it.
    pub fn name(self) -> &'static str {
        match self {
            TypedArrayKind::Int8Array => "Int8Array",
            TypedArrayKind::Uint8Array => "Uint8Array",
            TypedArrayKind::Uint8ClampedArray => "Uint8ClampedArray",
            TypedArrayKind::Int16Array => "Int16Array",
            TypedArrayKind::Uint16Array => "Uint16Array",
            TypedArrayKind::Int32Array => "Int32Array",
            TypedArrayKind::Uint32Array => "Uint32Array",
            TypedArrayKind::Float32Array => "Float32Array",
            TypedArrayKind::Float64Array => "Float64Array",
            TypedArrayKind::BigInt64Array => "BigInt64Array",
            TypedArrayKind::BigUint64Array => "BigUint64Array",
        }
    }

    /// The kind named `name`, if any.
    pub fn from_name(name: &str) -> Option<TypedArrayKind> {
        TypedArrayKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// True for the two bigint kinds, which the wire format cannot carry (JavaScript's
    /// `JSON.stringify` throws on their elements).
    pub fn is_bigint(self) -> bool {
        matches!(
            self,
            TypedArrayKind::BigInt64Array | TypedArrayKind::BigUint64Array
        )
    }

    /// Converts a number the way storing it into this typed array does in JavaScript
    /// (wrap-around for integer kinds, clamping for `Uint8ClampedArray`, `f32` rounding).
    ///
    /// ```
    /// use lumenize_core::structured_clone::TypedArrayKind;
    /// assert_eq!(TypedArrayKind::Int8Array.coerce(200.0), -56.0);
    /// assert_eq!(TypedArrayKind::Uint8ClampedArray.coerce(300.0), 255.0);
    /// assert_eq!(TypedArrayKind::Float32Array.coerce(0.1), 0.10000000149011612);
    /// ```
    pub fn coerce(self, x: f64) -> f64 {
        match self {
            TypedArrayKind::Int8Array => wrap(x, 8, true),
            TypedArrayKind::Uint8Array => wrap(x, 8, false),
            TypedArrayKind::Int16Array => wrap(x, 16, true),
            TypedArrayKind::Uint16Array => wrap(x, 16, false),
            TypedArrayKind::Int32Array => wrap(x, 32, true),
            TypedArrayKind::Uint32Array => wrap(x, 32, false),
            TypedArrayKind::BigInt64Array | TypedArrayKind::BigUint64Array => x.trunc(),
            TypedArrayKind::Uint8ClampedArray => {
                if x.is_nan() {
                    0.0
                } else {
                    // Round half to even, as ToUint8Clamp does.
                    x.clamp(0.0, 255.0).round_ties_even()
                }
            }
            TypedArrayKind::Float32Array => x as f32 as f64,
            TypedArrayKind::Float64Array => x,
        }
    }
}

/// `ToIntN` / `ToUintN`: truncate, then wrap modulo 2^bits.
fn wrap(x: f64, bits: u32, signed: bool) -> f64 {
    if !x.is_finite() {
        return 0.0;
    }
    let modulus = 2f64.powi(bits as i32);
    let mut v = x.trunc().rem_euclid(modulus);
    if signed && v >= modulus / 2.0 {
        v -= modulus;
    }
    v + 0.0 // turns -0 into +0
}
