//! Work split over the available cores (the `parallel` feature): a slice
//! in one contiguous share per core, each share on its own scoped thread
//! and the first on the calling one, with the results in order. Used where
//! a large group makes one operation do thousands of like steps: batch
//! signature verification, HPKE to many keys. Without the feature,
//! [`run_with_rngs`] does the work on the calling thread, so its callers
//! need no feature gates of their own.

use alloc::vec::Vec;

#[cfg(feature = "parallel")]
use std::sync::{Mutex, PoisonError};

#[cfg(feature = "parallel")]
use rand_core::SeedableRng;
#[cfg(feature = "parallel")]
use zeroize::Zeroizing;

use crate::Rng;

#[cfg(feature = "parallel")]
/// `items` in contiguous shares, one per available core, but no more
/// shares than would give each `min_per_share` items (below that, starting
/// a thread costs more than it saves): one share if the items are few. An
/// empty slice is one empty share.
pub fn shares<T>(items: &[T], min_per_share: usize) -> Vec<&[T]> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let count = cores.min(items.len() / min_per_share.max(1)).max(1);
    if items.is_empty() {
        return Vec::from([items]);
    }
    items.chunks(items.len().div_ceil(count)).collect()
}

#[cfg(feature = "parallel")]
/// Runs `work` on each of `shares`, the first on this thread and every
/// other on a thread of its own; returns the results in the shares' order.
/// A share whose thread cannot be started (the system is out of threads
/// or memory) runs on this thread instead. A panic on a thread is passed
/// on: the same work on one thread would have panicked.
pub fn run<S: Send, R: Send>(shares: Vec<S>, work: impl Fn(S) -> R + Sync) -> Vec<R> {
    run_on(shares, work, std::thread::Builder::new)
}

#[cfg(feature = "parallel")]
/// [`run`], with threads from `builder`.
fn run_on<S: Send, R: Send>(
    shares: Vec<S>,
    work: impl Fn(S) -> R + Sync,
    builder: fn() -> std::thread::Builder,
) -> Vec<R> {
    // Each share waits in a slot, so one whose thread failed to start is
    // still here to run.
    let slots: Vec<Mutex<Option<S>>> = shares.into_iter().map(|s| Mutex::new(Some(s))).collect();
    let work = &work;
    let take = |slot: &Mutex<Option<S>>| {
        // The lock is released before the work starts.
        let share = slot.lock().unwrap_or_else(PoisonError::into_inner).take();
        share.map(work)
    };
    std::thread::scope(|scope| {
        let Some((first, others)) = slots.split_first() else {
            return Vec::new();
        };
        let threads: Vec<_> = others
            .iter()
            .map(|slot| builder().spawn_scoped(scope, move || take(slot)).ok())
            .collect();
        let mut results = Vec::with_capacity(slots.len());
        results.extend(take(first));
        for (slot, thread) in others.iter().zip(threads) {
            let result = match thread {
                Some(thread) => thread.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                None => take(slot),
            };
            results.extend(result);
        }
        results
    })
}

#[cfg(feature = "parallel")]
/// `work` on `items` in [`shares`], results concatenated in order; each
/// share draws from its own generator (ChaCha20, keyed with 32 bytes drawn
/// from `rng`), as threads cannot share the caller's. With one share,
/// `work` runs here on `rng` itself.
pub fn run_with_rngs<T: Sync, R: Send, E: Send>(
    items: &[T],
    min_per_share: usize,
    rng: &mut Rng<'_>,
    work: impl Fn(&[T], &mut Rng<'_>) -> Result<Vec<R>, E> + Sync,
) -> Result<Vec<R>, E> {
    let shares = shares(items, min_per_share);
    if shares.len() == 1 {
        return work(items, rng);
    }
    let seeded: Vec<_> = shares.into_iter().map(|share| (share, seed(rng))).collect();
    let results = run(seeded, |(share, seed)| {
        work(share, &mut chacha20::ChaCha20Rng::from_seed(*seed))
    });
    results
        .into_iter()
        .try_fold(Vec::with_capacity(items.len()), |mut all, share| {
            all.extend(share?);
            Ok(all)
        })
}

/// `work` on all of `items` here, on `rng` (without the `parallel`
/// feature).
#[cfg(not(feature = "parallel"))]
pub fn run_with_rngs<T, R, E>(
    items: &[T],
    _min_per_share: usize,
    rng: &mut Rng<'_>,
    work: impl Fn(&[T], &mut Rng<'_>) -> Result<Vec<R>, E>,
) -> Result<Vec<R>, E> {
    work(items, rng)
}

#[cfg(feature = "parallel")]
/// 32 bytes from `rng`, to key one thread's generator.
fn seed(rng: &mut Rng<'_>) -> Zeroizing<[u8; 32]> {
    let mut seed = Zeroizing::new([0u8; 32]);
    rand_core::Rng::fill_bytes(rng, seed.as_mut());
    seed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "parallel")]
    #[test]
    fn shares_cover_the_items_in_order() {
        let items: Vec<u32> = (0..1001).collect();
        for min in [1, 10, 500, 2000] {
            let shares = shares(&items, min);
            assert_eq!(shares.concat(), items);
            let sums = run(shares, |s| s.iter().sum::<u32>());
            assert_eq!(sums.iter().sum::<u32>(), items.iter().sum::<u32>());
        }
        assert_eq!(shares(&items, 2000).len(), 1);
        assert_eq!(shares::<u32>(&[], 4), [&[] as &[u32]]);
    }

    #[cfg(feature = "parallel")]
    #[test]
    fn results_keep_the_order_of_the_shares() {
        assert_eq!(run((0..5).collect(), |i: u32| i * 10), [0, 10, 20, 30, 40]);
    }

    /// Every item is worked on once, in order, whatever the sharing; an
    /// error from any share is the result.
    #[test]
    fn shares_with_generators_concatenate_in_order() {
        let items: Vec<u32> = (0..5000).collect();
        let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
        let drawn = run_with_rngs(&items, 100, &mut rng, |share, rng| {
            Ok::<_, ()>(
                share
                    .iter()
                    .map(|&i| (i, rand_core::Rng::next_u32(rng)))
                    .collect::<Vec<_>>(),
            )
        })
        .unwrap();
        assert_eq!(drawn.iter().map(|(i, _)| *i).collect::<Vec<_>>(), items);
        let failed = run_with_rngs(&items, 100, &mut rng, |share, _| {
            if share.contains(&4999) {
                Err(4999)
            } else {
                Ok(share.to_vec())
            }
        });
        assert_eq!(failed, Err(4999));
    }

    #[cfg(feature = "parallel")]
    /// Threads that cannot start (here: a stack larger than the address
    /// space) leave their shares to this thread; nothing is lost.
    #[test]
    fn shares_without_a_thread_run_here() {
        let huge = || std::thread::Builder::new().stack_size(usize::MAX / 2);
        let here = std::thread::current().id();
        let ran = run_on((0..4).collect(), |i: u32| (i, std::thread::current().id()), huge);
        assert_eq!(ran.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [0, 1, 2, 3]);
        assert!(ran.iter().all(|(_, id)| *id == here));
    }

    #[cfg(feature = "parallel")]
    #[test]
    #[should_panic(expected = "share 2")]
    fn a_panic_on_another_thread_is_passed_on() {
        run((0..3).collect(), |i: u32| assert!(i != 2, "share {i}"));
    }
}
