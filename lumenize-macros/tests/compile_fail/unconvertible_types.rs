use lumenize_core::prelude::*;

pub struct Desk;

/// Neither `FromValue` nor `IntoValue`.
pub struct Note {
    pub text: String,
}

#[lumenize_core::dispatch]
impl Desk {
    pub fn remind(&mut self, _ctx: &Ctx<'_>, note: Note) -> usize {
        note.text.len()
    }

    pub fn last(&mut self, _ctx: &Ctx<'_>) -> Note {
        Note { text: String::new() }
    }
}

fn main() {}
