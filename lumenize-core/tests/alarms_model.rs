//! Model-based test of the alarms service: random sequences of schedule / replace / cancel /
//! fire / trigger against a plain `BTreeMap` model. After every step the table matches the
//! model and the slot is armed for exactly the earliest pending time.

use lumenize_core::alarms::{fire, init_schema, SlotState, SqlAlarmSlot, When};
use lumenize_core::context::{Ctx, CtxParts};
use lumenize_core::prelude::*;
use lumenize_core::storage::sqlite::SqliteStorage;
use lumenize_core::transport::Transport;
use proptest::prelude::*;
use std::collections::BTreeMap;

const T0: i64 = 1_700_000_000_000;

#[derive(Clone, Debug)]
enum Op {
    Schedule { delay: i64 },
    ScheduleWithId { key: u8, delay: i64 },
    Cancel { key: u8 },
    Advance { ms: i64 },
    Trigger,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0i64..10_000).prop_map(|delay| Op::Schedule { delay }),
        2 => (0u8..6, 0i64..10_000).prop_map(|(key, delay)| Op::ScheduleWithId { key, delay }),
        3 => (0u8..12).prop_map(|key| Op::Cancel { key }),
        2 => (0i64..4_000).prop_map(|ms| Op::Advance { ms }),
        1 => Just(Op::Trigger),
    ]
}

struct Nowhere;
impl Transport for Nowhere {
    fn knows(&self, _to: &Address) -> bool {
        false
    }
}

fn turn<R>(s: &SqliteStorage, slot: &SlotState, now: i64, f: impl FnOnce(&Ctx<'_>) -> R) -> R {
    s.begin().unwrap();
    let view = SqlAlarmSlot {
        state: slot,
        storage: s,
    };
    let ctx = Ctx::new(CtxParts {
        storage: s,
        slot: &view,
        transport: &Nowhere,
        now_ms: now,
        me: Address::object("M", "m"),
        ext: None,
    });
    let r = f(&ctx);
    slot.flush(s).unwrap();
    s.commit().unwrap();
    r
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    #[test]
    fn alarms_match_a_simple_model(ops in proptest::collection::vec(op(), 1..60)) {
        let s = SqliteStorage::in_memory().unwrap();
        init_schema(&s).unwrap();
        let slot = SlotState::load(&s).unwrap();
        let mut model: BTreeMap<String, i64> = BTreeMap::new();
        let mut known: Vec<String> = Vec::new();
        let mut now = T0;
        let cb = || ctn().call("noop", vec![]);
        for op in ops {
            match op {
                Op::Schedule { delay } => {
                    let id = turn(&s, &slot, now, |ctx| {
                        ctx.alarms().schedule(When::DelayMs(delay), cb()).unwrap().id
                    });
                    model.insert(id.clone(), now + delay);
                    known.push(id);
                }
                Op::ScheduleWithId { key, delay } => {
                    let id = format!("k{key}");
                    turn(&s, &slot, now, |ctx| {
                        ctx.alarms().schedule_with_id(&id, When::DelayMs(delay), cb()).unwrap()
                    });
                    model.insert(id.clone(), now + delay);
                    known.push(id);
                }
                Op::Cancel { key } => {
                    let id = known
                        .get(key as usize)
                        .cloned()
                        .unwrap_or_else(|| format!("unknown-{key}"));
                    let got = turn(&s, &slot, now, |ctx| ctx.alarms().cancel_schedule(&id).unwrap());
                    let expected = model.remove(&id);
                    prop_assert_eq!(got.map(|s| s.time), expected, "cancel {}", id);
                }
                Op::Advance { ms } => {
                    now += ms;
                    // The alarm handler: claim due schedules earliest first until none is due.
                    loop {
                        let claimed = turn(&s, &slot, now, |ctx| {
                            let c = fire::claim_next(ctx, false).unwrap();
                            fire::complete(ctx).unwrap();
                            c
                        });
                        let Some(c) = claimed else { break };
                        let earliest = model.iter().map(|(id, t)| (*t, id.clone())).min().unwrap();
                        prop_assert!(c.time <= now);
                        prop_assert_eq!((c.time, c.id.clone()), earliest);
                        model.remove(&c.id);
                    }
                    prop_assert!(model.values().all(|t| *t > now));
                }
                Op::Trigger => {
                    let claimed = turn(&s, &slot, now, |ctx| {
                        let c = fire::claim_next(ctx, true).unwrap();
                        fire::complete(ctx).unwrap();
                        c
                    });
                    let earliest = model.iter().map(|(id, t)| (*t, id.clone())).min();
                    prop_assert_eq!(claimed.map(|c| (c.time, c.id)), earliest.clone());
                    if let Some((_, id)) = earliest {
                        model.remove(&id);
                    }
                }
            }
            let count = turn(&s, &slot, now, |ctx| ctx.alarms().count().unwrap());
            prop_assert_eq!(count as usize, model.len());
            prop_assert_eq!(slot.armed(), model.values().min().copied(), "slot after step");
            // The mirror row holds what the slot says (it is what a restart re-arms from).
            let reloaded = SlotState::load(&s).unwrap();
            prop_assert_eq!(reloaded.armed(), slot.armed());
        }
    }
}
