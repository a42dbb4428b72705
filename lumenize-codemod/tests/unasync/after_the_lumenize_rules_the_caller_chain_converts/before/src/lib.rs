use lumenize_core::structured_clone::{parse, stringify, Value};

async fn decode(s: &str) -> Result<Value, lumenize_core::CloneError> {
    let v = parse(s, None).await?;
    Ok(v)
}

async fn roundtrip(s: &str) -> Result<String, lumenize_core::CloneError> {
    let v = decode(s).await?;
    stringify(&v).await
}

pub fn sync_entry() {}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn rt() {
        assert!(super::roundtrip("1").await.is_ok());
    }
}
