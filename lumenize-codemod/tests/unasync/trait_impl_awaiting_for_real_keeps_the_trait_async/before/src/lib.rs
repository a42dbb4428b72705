trait Source {
    async fn read(&self) -> u32;
}

struct Fixed;
struct Slow;

impl Source for Fixed {
    async fn read(&self) -> u32 {
        1
    }
}

impl Source for Slow {
    async fn read(&self) -> u32 {
        tokio::task::yield_now().await;
        2
    }
}

async fn both(a: &Fixed, b: &Slow) -> u32 {
    a.read().await + b.read().await
}
