//! The compile errors of `#[dispatch]` for the mistakes users make, and of what a handler may
//! not reach (`handler_alarm_slot.rs`: the runtime's alarm slot), pinned with their text
//! (`compile_fail/*.stderr`). One test function: trybuild builds the cases in its own target
//! directory (lumenize-core without its native backend), so the cases are few.
//! After an intended change of a message: `TRYBUILD=overwrite cargo test -p lumenize-macros`.

#[test]
fn mistakes_are_clear_compile_errors() {
    trybuild::TestCases::new().compile_fail("tests/compile_fail/*.rs");
}
