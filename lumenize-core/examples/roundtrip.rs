//! Round-trips a value through the structured-clone codec and prints the wire text.
use lumenize_core::structured_clone::{parse, stringify, Value};

fn main() {
    let value = Value::object([("type", Value::from("get")), ("key", Value::from("svc"))]);
    match stringify(&value).and_then(|text| parse(&text).map(|_| text)) {
        Ok(text) => println!("{text}"),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
