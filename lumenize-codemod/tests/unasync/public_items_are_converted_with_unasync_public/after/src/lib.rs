pub mod api;

fn private_helper() -> u32 {
    1
}

pub fn exposed() -> u32 {
    private_helper() + 1
}
