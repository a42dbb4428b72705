pub struct Client;

impl Client {
    pub fn get(&self) -> u32 {
        crate::exposed()
    }
}
