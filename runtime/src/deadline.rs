//! Coarse deadlines for the limits of an invocation (its wall clock, its
//! requests' first byte, pauses and total time), woken by the runtime's
//! ticker thread.
//!
//! Why not tokio's timers: registering a tokio timer that is due sooner than
//! every other one wakes the thread parked in the I/O driver so that it can
//! re-arm its timeout: an `eventfd` write, and on a multi-threaded executor
//! a context switch. An invocation set up four such timers and re-armed one
//! per body chunk, and measured, those wake-ups were most of the executor's
//! own overhead per invocation (BENCHMARKS.md). These limits are seconds
//! long and need no more than the ticker's 10 ms resolution, so a deadline
//! here is an entry in a table the ticker scans on every tick: registering,
//! moving and dropping one takes a lock and no system call, and only a
//! deadline that actually passes wakes anything.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// The table of pending deadlines one runtime's invocations share.
#[derive(Clone, Default)]
pub(crate) struct Deadlines {
    table: Arc<Mutex<Table>>,
}

#[derive(Default)]
struct Table {
    /// A slot per registered deadline; `None` slots are free.
    slots: Vec<Option<Slot>>,
    free: Vec<usize>,
    /// The id the next registration gets: a slot freed by the ticker may be
    /// reused, and a deadline must recognise that it is no longer its own.
    next_id: u64,
}

struct Slot {
    id: u64,
    at: Instant,
    waker: Waker,
}

impl Table {
    /// The slot `(index, id)` names, while it is still that registration's.
    fn slot(&mut self, (index, id): (usize, u64)) -> Option<&mut Slot> {
        self.slots
            .get_mut(index)
            .and_then(Option::as_mut)
            .filter(|slot| slot.id == id)
    }
}

impl Deadlines {
    /// A deadline `after` from now.
    pub fn after(&self, after: Duration) -> Deadline {
        self.at(Instant::now() + after)
    }

    /// A deadline at `at`.
    pub fn at(&self, at: Instant) -> Deadline {
        Deadline {
            table: self.table.clone(),
            at,
            slot: None,
        }
    }

    /// Wakes every deadline that has passed; the ticker calls it once per tick.
    pub fn fire(&self) {
        let now = Instant::now();
        let due: Vec<Waker> = {
            let mut table = self.table.lock().unwrap();
            let Table { slots, free, .. } = &mut *table;
            slots
                .iter_mut()
                .enumerate()
                .filter(|(_, slot)| slot.as_ref().is_some_and(|s| s.at <= now))
                .filter_map(|(i, slot)| {
                    free.push(i);
                    slot.take().map(|s| s.waker)
                })
                .collect()
        };
        // Woken outside the lock: a woken task may register again at once.
        for waker in due {
            waker.wake();
        }
    }
}

/// A point in time a future can wait for. Polling registers the task; a
/// passed deadline is ready at once, whether the ticker saw it or not.
pub(crate) struct Deadline {
    table: Arc<Mutex<Table>>,
    at: Instant,
    /// The registration: slot index and id.
    slot: Option<(usize, u64)>,
}

impl Deadline {
    /// Moves it to `at`; the task polling it is woken by the new time.
    pub fn reset(&mut self, at: Instant) {
        self.at = at;
        if let Some(key) = self.slot {
            let mut table = self.table.lock().unwrap();
            match table.slot(key) {
                Some(slot) => slot.at = at,
                // The ticker fired and freed the slot meanwhile: register anew.
                None => self.slot = None,
            }
        }
    }

    /// Whether it has passed; registers `cx`'s task to be woken when it does.
    pub fn poll_passed(&mut self, cx: &mut Context<'_>) -> bool {
        if Instant::now() >= self.at {
            self.release();
            return true;
        }
        let mut table = self.table.lock().unwrap();
        if let Some(slot) = self.slot.and_then(|key| table.slot(key)) {
            if !slot.waker.will_wake(cx.waker()) {
                slot.waker = cx.waker().clone();
            }
            return false;
        }
        let id = table.next_id;
        table.next_id += 1;
        let entry = Some(Slot {
            id,
            at: self.at,
            waker: cx.waker().clone(),
        });
        let i = match table.free.pop() {
            Some(i) => {
                table.slots[i] = entry;
                i
            }
            None => {
                table.slots.push(entry);
                table.slots.len() - 1
            }
        };
        self.slot = Some((i, id));
        false
    }

    fn release(&mut self) {
        if let Some(key) = self.slot.take() {
            let mut table = self.table.lock().unwrap();
            // The ticker may have freed the slot and another deadline taken it.
            if table.slot(key).is_some() {
                table.slots[key.0] = None;
                table.free.push(key.0);
            }
        }
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        self.release();
    }
}

impl Future for Deadline {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.poll_passed(cx) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

/// `future`, or `Err(Elapsed)` once `deadline` passes first.
pub(crate) async fn within<F: Future>(deadline: Deadline, future: F) -> Result<F::Output, Elapsed> {
    let mut deadline = deadline;
    let mut future = std::pin::pin!(future);
    std::future::poll_fn(|cx| {
        if let Poll::Ready(out) = future.as_mut().poll(cx) {
            return Poll::Ready(Ok(out));
        }
        if deadline.poll_passed(cx) {
            return Poll::Ready(Err(Elapsed));
        }
        Poll::Pending
    })
    .await
}

/// The deadline passed before the future completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Elapsed;

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_deadline_fires_when_the_ticker_sees_it_pass() {
        let deadlines = Deadlines::default();
        let ticker = {
            let deadlines = deadlines.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    deadlines.fire();
                }
            })
        };
        let started = Instant::now();
        let slow = within(
            deadlines.after(Duration::from_millis(30)),
            tokio::time::sleep(Duration::from_secs(5)),
        );
        assert_eq!(slow.await, Err(Elapsed));
        assert!(started.elapsed() >= Duration::from_millis(30));
        assert!(started.elapsed() < Duration::from_secs(2));
        let quick = within(deadlines.after(Duration::from_secs(5)), async { 7 });
        assert_eq!(quick.await, Ok(7));
        ticker.abort();
        assert!(deadlines
            .table
            .lock()
            .unwrap()
            .slots
            .iter()
            .all(Option::is_none));
    }

    #[tokio::test]
    async fn a_moved_deadline_waits_for_its_new_time() {
        let deadlines = Deadlines::default();
        let mut deadline = deadlines.after(Duration::from_millis(10));
        deadline.reset(Instant::now() + Duration::from_secs(60));
        let waker = futures_noop_waker();
        let mut cx = Context::from_waker(&waker);
        assert!(!deadline.poll_passed(&mut cx));
        std::thread::sleep(Duration::from_millis(20));
        deadlines.fire();
        assert!(!deadline.poll_passed(&mut cx));
        deadline.reset(Instant::now());
        assert!(deadline.poll_passed(&mut cx));
    }

    fn futures_noop_waker() -> Waker {
        Waker::noop().clone()
    }
}
