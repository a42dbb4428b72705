mod util;

use util::helper as h;

async fn user() -> u32 {
    crate::util::helper().await + h().await + util::nested::deep().await
}
