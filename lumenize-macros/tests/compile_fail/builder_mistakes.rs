use lumenize_core::prelude::*;

pub struct Desk;

#[lumenize_core::dispatch]
impl Desk {
    pub fn remind(&mut self, _ctx: &Ctx<'_>, what: String, secs: f64) -> String {
        format!("{what} in {secs}")
    }
}

fn main() {
    // An argument of the wrong type.
    let _ = Desk::ctn().remind(5.0, 1.0);
    // A method the desk does not expose.
    let _ = Desk::ctn().remnid("tea", 1.0);
}
