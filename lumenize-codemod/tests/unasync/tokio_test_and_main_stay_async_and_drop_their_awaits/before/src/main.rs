async fn compute() -> u32 {
    41
}

async fn plus_one() -> u32 {
    compute().await + 1
}

#[tokio::main]
async fn main() {
    println!("{}", plus_one().await);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn adds() {
        assert_eq!(plus_one().await, 42);
    }
}
