//! Round-trips a small value through the structured-clone codec and prints the wire text.
//!
//! `cargo run -p lumenize-core --example roundtrip`
use lumenize_core::structured_clone::{parse, stringify, CloneError, Value};

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), CloneError> {
    // An operation-chain-like value with a date, `undefined`, and one object used twice.
    let args = Value::object([("data", Value::from("example"))]);
    let value = Value::array([
        Value::object([
            ("type", Value::from("get")),
            ("key", Value::from("handleTask")),
        ]),
        Value::object([
            ("type", Value::from("apply")),
            (
                "args",
                Value::array([args.clone(), Value::date(0.0), Value::Undefined]),
            ),
            ("again", args),
        ]),
    ]);
    let text = stringify(&value)?;
    println!("{text}");
    // Decoding and re-encoding gives the same bytes (the shared object is still one object).
    let again = stringify(&parse(&text)?)?;
    if again != text {
        return Err(CloneError {
            message: format!("re-encoding differs: {again}"),
            path: "json".into(),
        });
    }
    Ok(())
}
