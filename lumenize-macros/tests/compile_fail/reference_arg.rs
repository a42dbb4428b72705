use lumenize_core::prelude::*;

pub struct Desk;

#[lumenize_core::dispatch]
impl Desk {
    pub fn remind(&mut self, _ctx: &Ctx<'_>, what: &str, tags: &[String]) -> usize {
        what.len() + tags.len()
    }
}

fn main() {}
