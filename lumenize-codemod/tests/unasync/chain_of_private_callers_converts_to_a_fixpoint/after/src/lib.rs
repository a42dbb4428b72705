//! c awaits nothing, b awaits only c, a awaits only b: all three become synchronous.

fn c(x: u32) -> u32 {
    x + 1
}

fn b(x: u32) -> u32 {
    // a comment before the call
    c(x) * 2
}

pub(crate) fn a(x: u32) -> Result<u32, String> {
    let v = b(x);
    Ok(v)
}

pub fn entry() -> u32 {
    0
}
