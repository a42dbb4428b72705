pub struct Command;

impl Command {
    fn encode(&self) -> u32 {
        1
    }
}

fn a() -> u32 {
    1
}

fn b(x: u32) -> u32 {
    x + 1
}

fn c() -> u32 {
    3
}

/// Both callees convert, so the join is a tuple of plain calls, and `both` awaits nothing.
fn both() -> (u32, u32) {
    (a(), b(2))
}

/// Paths and layout of the arguments are kept byte for byte; a trailing comma too.
fn spread(cmd: &Command) -> u32 {
    let (x, y, z) = (
        cmd.encode(), // the first
        b(a()),
        c(),
    );
    x + y + z + both().0
}
