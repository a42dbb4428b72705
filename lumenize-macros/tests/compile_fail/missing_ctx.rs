pub struct Desk;

#[lumenize_core::dispatch]
impl Desk {
    pub fn remind(&mut self, what: String) -> String {
        what
    }

    #[handler]
    fn ring(&mut self) {}
}

fn main() {}
