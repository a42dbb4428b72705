pub(crate) struct Store {
    items: Vec<u32>,
}

impl Store {
    fn new() -> Store {
        Store { items: Vec::new() }
    }

    async fn total(&self) -> u32 {
        self.items.iter().sum()
    }

    async fn add(&mut self, x: u32) -> u32 {
        self.items.push(x);
        self.total().await
    }

    async fn build(xs: &[u32]) -> Store {
        let mut s = Store::new();
        for x in xs {
            s.add(*x).await;
        }
        s
    }
}

async fn report(store: &Store) -> String {
    format!("{}", store.total().await)
}

async fn run() -> String {
    let store = Store::build(&[1, 2]).await;
    let again = Self_less(&store).await;
    report(&store).await + &again
}

async fn Self_less(s: &Store) -> String {
    String::new() + &s.items.len().to_string()
}
