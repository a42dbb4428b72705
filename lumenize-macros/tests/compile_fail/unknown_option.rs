use lumenize_core::prelude::*;

pub struct Desk;

#[lumenize_core::dispatch]
impl Desk {
    #[handler(nmae = "onFetched")]
    pub fn fetched(&mut self, _ctx: &Ctx<'_>, outcome: Value) -> Value {
        outcome
    }
}

fn main() {}
