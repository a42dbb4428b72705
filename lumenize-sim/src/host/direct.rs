//! The direct fetch on the host's side: the committed turns' effects taken from their
//! `Outputs`, each exchange run against the simulated endpoint, and its continuation resumed
//! on the object's own process (no network hop, no alarm, no row), or never if that process
//! died meanwhile.

use super::{Ev, Msg, Sim};
use crate::direct::SimDirect;
use crate::Mutant;
use lumenize_core::fetch::{FetchError, FetchResponse};
use lumenize_core::turn::Outputs;

impl Sim {
    /// Takes a turn's effects from its outputs (the engine hands over only those of committed
    /// turns). An effect of another type is a violation: only the workload queues effects.
    pub(super) fn effects_of(&mut self, oi: usize, outputs: &mut Outputs) -> Vec<SimDirect> {
        let mut directs = Vec::new();
        for effect in outputs.take_effects() {
            match effect.downcast::<SimDirect>() {
                Ok(d) => directs.push(d),
                Err(e) => {
                    let label = self.objs[oi].label.clone();
                    self.oracle
                        .fail(self.now, format!("{label}: an unknown effect {e:?}"));
                }
            }
        }
        directs
    }

    /// Starts released direct fetches: the endpoint sees each exchange now (the oracle checks
    /// its start committed, and that it is the only one), and it ends on this process of the
    /// object.
    pub(super) fn start_directs(&mut self, oi: usize, directs: Vec<SimDirect>) {
        for d in directs {
            let (now, label) = (self.now, self.objs[oi].label.clone());
            if self.mutant == Mutant::LostEffect && !std::mem::replace(&mut self.lost_effect, true)
            {
                continue;
            }
            self.oracle.direct_exchange(now, d.tag());
            self.trace.line(format_args!(
                "{now} direct exchange {} from {label}",
                d.tag()
            ));
            let (outcome, took) = self.endpoint(d.tag(), d.request(), d.limits());
            let life = self.objs[oi].life;
            self.push(
                now + took,
                Ev::Direct {
                    obj: oi,
                    life,
                    direct: Box::new(d),
                    outcome,
                },
            );
        }
    }

    /// A direct exchange ended: the object resumes with the outcome, as the next message of
    /// its mailbox (it may join a group), unless its process died since it started the fetch.
    pub(super) fn on_direct_done(
        &mut self,
        oi: usize,
        life: u64,
        d: &SimDirect,
        outcome: &Result<FetchResponse, FetchError>,
    ) {
        let label = self.objs[oi].label.clone();
        let what = match outcome {
            Ok(r) => format!("status {}", r.status),
            Err(e) => e.name().to_string(),
        };
        let tag = d.tag().to_string();
        if self.objs[oi].life != life {
            // The design's trade-off: the wait lived in the process that crashed.
            self.trace.line(format_args!(
                "{} direct exchange {tag} ends ({what}) after {label} crashed: no continuation",
                self.now
            ));
            self.oracle.direct_lost(&tag);
            return;
        }
        self.trace.line(format_args!(
            "{} direct exchange {tag} ends: {what}",
            self.now
        ));
        match d.resume_chain(outcome) {
            Ok(chain) => {
                let me = self.objs[oi].addr.clone();
                self.on_msg(me.clone(), me, Msg::Resume { chain });
            }
            Err(e) => {
                let msg = format!("{label}: cannot resume the direct fetch {tag}: {e}");
                self.oracle.fail(self.now, msg);
            }
        }
    }
}
