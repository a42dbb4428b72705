use lumenize_core::structured_clone::{parse, stringify, Value};

fn decode(s: &str) -> Result<Value, lumenize_core::CloneError> {
    let v = parse(s)?;
    Ok(v)
}

fn roundtrip(s: &str) -> Result<String, lumenize_core::CloneError> {
    let v = decode(s)?;
    stringify(&v)
}

pub fn sync_entry() {}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn rt() {
        assert!(super::roundtrip("1").is_ok());
    }
}
