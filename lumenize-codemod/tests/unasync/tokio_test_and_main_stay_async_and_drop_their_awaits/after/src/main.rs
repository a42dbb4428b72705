fn compute() -> u32 {
    41
}

fn plus_one() -> u32 {
    compute() + 1
}

#[tokio::main]
async fn main() {
    println!("{}", plus_one());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn adds() {
        assert_eq!(plus_one(), 42);
    }
}
