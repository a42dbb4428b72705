use lumenize_core::prelude::*;

pub struct Desk;

#[lumenize_core::dispatch]
impl Desk {
    pub async fn remind(&mut self, _ctx: &Ctx<'_>, what: String) -> String {
        what
    }
}

fn main() {}
