//! `handlers!` goes through the same generator as `#[dispatch]`, with its checks.
use lumenize_core::prelude::*;

pub struct Desk;

impl Desk {
    fn fetched(&mut self, _ctx: &Ctx<'_>, outcome: Value) -> Value {
        outcome
    }
}

lumenize_core::handlers!(Desk {
    fetched as "onFetched"(outcome: Value),
    fetched as "onFetched"(outcome: Value),
});

fn main() {}
