//! Raw bodies of `RequestSync` / `ResponseSync`: the JavaScript original embeds them without
//! structured-clone encoding, so they reach the wire as plain `JSON.stringify` writes them.
//!
//! Mirrored rules: an `undefined` property is dropped (and `null` inside arrays); NaN and
//! ±Infinity become `null`; a bigint is an error; a `Date` becomes its ISO string (`null` when
//! invalid); a `URL` its href; boxed primitives unwrap; a typed array becomes `{"0":…,"1":…}`; an
//! `Error` keeps only its custom properties; every other special object becomes `{}`; a cycle
//! is an error ("Converting circular structure to JSON"). Keys are not `$`-escaped and shared
//! objects are simply repeated.
//!
//! Not JavaScript: the repetition is budgeted (see `expand.rs`; one [`Walk`] covers every body
//! of a document). `JSON.stringify` expands a graph of 48 arrays that each hold the next one
//! twice (2 KB of wire text) into 2^48 leaves until the engine runs out of string length; here
//! expanding beyond about a million units plus four times the graph is an error saying
//! "expansion budget".

use super::depth::open;
use super::error::{CloneError, Res};
use super::expand::{Refusal, Walk};
use super::iso;
use super::text::{write_f64, write_str};
use super::value::{ObjectKind, Props, Value};

const BIGINT: &str = "a bigint in a raw body cannot be encoded (JavaScript: TypeError: Do not \
                      know how to serialize a BigInt)";

/// Writes `v` as `JSON.stringify` would. `walk` finds cycles and budgets the repetition of
/// shared objects.
pub(crate) fn write_raw(out: &mut String, v: &Value, depth: usize, walk: &mut Walk) -> Res<()> {
    if !matches!(v, Value::Object(_)) {
        walk.primitive(v).map_err(|r| refusal(walk, r))?;
    }
    match v {
        Value::Undefined | Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_num(out, *n),
        Value::BigInt(_) => return Err(CloneError::here(BIGINT)),
        Value::String(s) => write_str(out, s),
        Value::Object(o) => {
            let kind = o
                .try_borrow()
                .ok_or_else(|| CloneError::here("object is mutably borrowed during encoding"))?;
            let d = open(depth)?;
            let entered = walk.enter(o, &kind).map_err(|r| refusal(walk, r))?;
            let result = write_object(out, &kind, d, walk);
            walk.leave(entered);
            result?;
        }
    }
    Ok(())
}

fn refusal(walk: &Walk, r: Refusal) -> CloneError {
    CloneError::here(match r {
        Refusal::Cycle => "cycle in a raw body (JavaScript: TypeError: Converting circular \
                           structure to JSON)"
            .to_string(),
        Refusal::Budget => walk.budget_message(),
    })
}

fn write_object(out: &mut String, kind: &ObjectKind, d: usize, walk: &mut Walk) -> Res<()> {
    match kind {
        ObjectKind::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_raw(out, item, d, walk).map_err(|e| e.in_index(i))?;
            }
            out.push(']');
        }
        ObjectKind::Plain(props) => write_props(out, props, d, walk)?,
        ObjectKind::Error(err) => write_props(out, &err.props, d, walk)?,
        ObjectKind::Date(ms) => match iso::to_iso(*ms) {
            Some(text) => write_str(out, &text),
            None => out.push_str("null"),
        },
        ObjectKind::Url(href) => write_str(out, href),
        ObjectKind::BooleanObject(b) => out.push_str(if *b { "true" } else { "false" }),
        ObjectKind::NumberObject(n) => write_num(out, *n),
        ObjectKind::StringObject(s) => write_str(out, s),
        ObjectKind::BigIntObject(_) => return Err(CloneError::here(BIGINT)),
        ObjectKind::TypedArray { kind, values } => {
            if kind.is_bigint() {
                return Err(CloneError::here(BIGINT));
            }
            out.push('{');
            for (i, &x) in values.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push('"');
                super::text::write_i64(out, i as i64);
                out.push_str("\":");
                write_num(out, kind.coerce(x));
            }
            out.push('}');
        }
        _ => out.push_str("{}"),
    }
    Ok(())
}

fn write_num(out: &mut String, n: f64) {
    if n.is_finite() {
        write_f64(out, n);
    } else {
        out.push_str("null");
    }
}

fn write_props(out: &mut String, props: &Props, depth: usize, walk: &mut Walk) -> Res<()> {
    out.push('{');
    let mut first = true;
    for (k, item) in props.iter() {
        if item.is_undefined() {
            continue;
        }
        if !first {
            out.push(',');
        }
        first = false;
        write_str(out, k);
        out.push(':');
        write_raw(out, item, depth, walk).map_err(|e| e.in_key(k))?;
    }
    out.push('}');
    Ok(())
}
