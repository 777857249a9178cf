//! scalability: start N long-running containers, then destroy them all, one after another
//! or all at once (a thread per container).

use std::time::Instant;

use crate::error::Failure;
use crate::runtime::Runtime;

use super::container::{self, bundle, sleeper, Guard};
use super::ctx::{ms, Ctx, RunOutcome, RunResult};

pub fn scale(ctx: &Ctx, rt: &Runtime, n: u32, concurrent: bool) -> RunResult {
    let b = bundle(ctx, &sleeper())?;
    let mut guards: Vec<Guard> = (0..n).map(|_| Guard::new(ctx, rt)).collect();
    let up = |g: &Guard| -> Result<(), Failure> {
        container::create(ctx, rt, &g.id, &b)?;
        container::start(ctx, rt, &g.id).map(drop)
    };
    let down = |g: &Guard| container::delete(ctx, rt, &g.id, true).map(drop);
    ctx.before_timed()?;
    let t0 = Instant::now();
    each(&guards, concurrent, up)?;
    let started = t0.elapsed();
    let t1 = Instant::now();
    each(&guards, concurrent, down)?;
    let destroyed = t1.elapsed();
    guards.iter_mut().for_each(Guard::disarm);
    let total = ms(started + destroyed);
    Ok(RunOutcome::Values(vec![
        total,
        total / f64::from(n),
        ms(started),
        ms(destroyed),
    ]))
}

/// Applies `f` to every guard, in order or on one thread each; the first error wins.
fn each<F>(guards: &[Guard], concurrent: bool, f: F) -> Result<(), Failure>
where
    F: Fn(&Guard) -> Result<(), Failure> + Sync,
{
    if !concurrent {
        return guards.iter().try_for_each(f);
    }
    std::thread::scope(|s| {
        let handles: Vec<_> = guards.iter().map(|g| s.spawn(|| f(g))).collect();
        let results: Vec<_> = handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(Failure::new("scalability", "worker thread panicked")))
            })
            .collect();
        results.into_iter().collect()
    })
}
