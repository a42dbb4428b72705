pub(crate) struct Store {
    items: Vec<u32>,
}

impl Store {
    fn new() -> Store {
        Store { items: Vec::new() }
    }

    fn total(&self) -> u32 {
        self.items.iter().sum()
    }

    fn add(&mut self, x: u32) -> u32 {
        self.items.push(x);
        self.total()
    }

    fn build(xs: &[u32]) -> Store {
        let mut s = Store::new();
        for x in xs {
            s.add(*x);
        }
        s
    }
}

fn report(store: &Store) -> String {
    format!("{}", store.total())
}

fn run() -> String {
    let store = Store::build(&[1, 2]);
    let again = Self_less(&store);
    report(&store) + &again
}

fn Self_less(s: &Store) -> String {
    String::new() + &s.items.len().to_string()
}
