// A handler cannot reach the object's alarm slot. Arming it by hand (or editing the schedule
// order behind it) would part the alarm from the schedules it is derived from: before this was
// refused, `ctx.slot().set(None)` left a schedule due seconds earlier unfired, with
// `next_alarm()` saying `None`, until the runtime restarted.
use lumenize_core::prelude::*;

pub struct Desk;

#[lumenize_core::dispatch]
impl Desk {
    pub fn disarm(&mut self, ctx: &Ctx<'_>) -> Result<(), String> {
        ctx.slot().set(None).map_err(|e| e.to_string())
    }
}

fn main() {}
