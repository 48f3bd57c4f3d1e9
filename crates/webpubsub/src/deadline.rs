//! Attempt deadlines that share one tokio timer per thread.
//!
//! tokio 1.x keeps every timer of a runtime in one wheel behind one mutex, and every `Sleep`
//! clones the runtime's handle: a `tokio::time::timeout` per request is two lock round trips on a
//! lock all worker threads share, measured at about 5 % of throughput with 64 calls in flight on
//! two cores. Here each thread keeps the deadlines of the attempts it started, and one `Sleep`
//! armed for the earliest of them. When it fires, every attempt of that thread is woken; each
//! checks its own deadline, ends if it passed, and otherwise registers again (re-arming the
//! `Sleep` for the earliest deadline left). Deadlines are exact: an attempt ends at its deadline,
//! as with `tokio::time::timeout_at`, and paused time (`tokio::time::pause`) works the same.
//!
//! Like the pooled HTTP client, this serves one runtime at a time per thread: a `Sleep` whose
//! runtime was dropped has fired (tokio fires every timer on shutdown) and is replaced.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::task::{Context, Poll, Wake, Waker};

use tokio::time::{Instant, Sleep};

/// The deadline passed before the future completed.
#[derive(Debug)]
pub(crate) struct Elapsed;

/// `future`, ended at `deadline` if it has not completed by then.
pub(crate) fn at<F: Future + Unpin>(deadline: Instant, future: F) -> Deadline<F> {
    Deadline {
        future,
        deadline,
        registration: None,
    }
}

/// The future [`at`] returns.
pub(crate) struct Deadline<F> {
    future: F,
    deadline: Instant,
    /// The thread's timer this attempt is registered with, and its slot there.
    registration: Option<(Arc<Mutex<Timer>>, usize)>,
}

impl<F: Future + Unpin> Future for Deadline<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Poll::Ready(output) = Pin::new(&mut this.future).poll(cx) {
            this.deregister();
            return Poll::Ready(Ok(output));
        }
        if Instant::now() >= this.deadline {
            this.deregister();
            return Poll::Ready(Err(Elapsed));
        }
        match &this.registration {
            Some((timer, slot)) => lock(timer).update(*slot, this.deadline, cx.waker(), timer),
            None => {
                let timer = THREAD_TIMER.with(Arc::clone);
                let slot = lock(&timer).insert(this.deadline, cx.waker(), &timer);
                this.registration = Some((timer, slot));
            }
        }
        Poll::Pending
    }
}

impl<F> Deadline<F> {
    fn deregister(&mut self) {
        if let Some((timer, slot)) = self.registration.take() {
            lock(&timer).remove(slot);
        }
    }
}

impl<F> Drop for Deadline<F> {
    fn drop(&mut self) {
        self.deregister();
    }
}

thread_local! {
    static THREAD_TIMER: Arc<Mutex<Timer>> = Arc::new(Mutex::new(Timer::default()));
}

/// A thread's pending deadlines and the `Sleep` armed for the earliest.
#[derive(Default)]
struct Timer {
    /// Slots of registered attempts; `None` is free (its index is in `free`).
    slots: Vec<Option<(Instant, Waker)>>,
    free: Vec<usize>,
    /// The armed `Sleep` and the deadline it is armed for.
    sleep: Option<(Pin<Box<Sleep>>, Instant)>,
    /// Tells the current `Sleep`'s wake from a replaced one's.
    generation: u64,
}

fn lock(timer: &Mutex<Timer>) -> MutexGuard<'_, Timer> {
    // The timer's state stays consistent between statements; a panic elsewhere cannot break it.
    timer.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Timer {
    fn insert(&mut self, deadline: Instant, waker: &Waker, this: &Arc<Mutex<Timer>>) -> usize {
        let entry = Some((deadline, waker.clone()));
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot] = entry;
                slot
            }
            None => {
                self.slots.push(entry);
                self.slots.len() - 1
            }
        };
        self.arm(deadline, this);
        slot
    }

    fn update(&mut self, slot: usize, deadline: Instant, waker: &Waker, this: &Arc<Mutex<Timer>>) {
        if let Some((_, registered)) = self.slots.get_mut(slot).and_then(Option::as_mut) {
            if !registered.will_wake(waker) {
                registered.clone_from(waker);
            }
        }
        self.arm(deadline, this);
    }

    fn remove(&mut self, slot: usize) {
        if let Some(entry) = self.slots.get_mut(slot) {
            if entry.take().is_some() {
                self.free.push(slot);
            }
        }
    }

    /// Makes sure the `Sleep` fires by `deadline`: keeps it when it is armed for that or earlier
    /// and still pending, else arms a new one for the earliest registered deadline. (Not only
    /// for `deadline`: a `Sleep` that fired may not have woken anyone yet, and its wake is
    /// ignored once it is replaced, so the new one answers for every registered attempt.)
    fn arm(&mut self, deadline: Instant, this: &Arc<Mutex<Timer>>) {
        if let Some((sleep, armed_for)) = &self.sleep {
            if *armed_for <= deadline && !sleep.is_elapsed() {
                return;
            }
        }
        let deadline = self
            .slots
            .iter()
            .flatten()
            .map(|(registered, _)| *registered)
            .fold(deadline, Instant::min);
        self.generation = self.generation.wrapping_add(1);
        let waker = Waker::from(Arc::new(TimerWaker {
            timer: Arc::downgrade(this),
            generation: self.generation,
        }));
        let mut sleep = Box::pin(tokio::time::sleep_until(deadline));
        // Polling registers the `Sleep` with the runtime's timer, to wake `waker`. Outside the
        // task's budget: with the budget spent, a `Sleep` would not register but wake `waker`
        // at once, which locks this timer (held here).
        let mut registering = tokio::task::coop::unconstrained(sleep.as_mut());
        let fired = Pin::new(&mut registering)
            .poll(&mut Context::from_waker(&waker))
            .is_ready();
        self.sleep = Some((sleep, deadline));
        if fired {
            // Already due: wake everyone now (they are being polled or will be).
            self.sleep = None;
            self.wake_all();
        }
    }

    fn wake_all(&self) {
        for (_, waker) in self.slots.iter().flatten() {
            waker.wake_by_ref();
        }
    }
}

/// Wakes every attempt of a thread when its `Sleep` fires.
struct TimerWaker {
    timer: Weak<Mutex<Timer>>,
    generation: u64,
}

impl Wake for TimerWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let Some(timer) = self.timer.upgrade() else {
            return;
        };
        // Collected under the lock, woken after it: a woken attempt may be polled at once on
        // another thread and lock this timer.
        let (wakers, fired) = {
            let mut timer = lock(&timer);
            if timer.generation != self.generation {
                return; // a replaced `Sleep`; the current one is armed
            }
            let wakers: Vec<Waker> = timer
                .slots
                .iter()
                .flatten()
                .map(|(_, waker)| waker.clone())
                .collect();
            (wakers, timer.sleep.take())
        };
        drop(fired);
        for waker in wakers {
            waker.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::future::{pending, ready};
    use std::time::Duration;

    use super::*;

    fn boxed<T: Send + 'static>(
        f: impl Future<Output = T> + Send + 'static,
    ) -> Pin<Box<dyn Future<Output = T> + Send>> {
        Box::pin(f)
    }

    #[tokio::test(start_paused = true)]
    async fn a_future_that_completes_in_time_is_returned_and_unregistered() {
        let start = Instant::now();
        let value = at(
            start + Duration::from_secs(5),
            boxed(async {
                tokio::time::sleep(Duration::from_secs(1)).await;
                7
            }),
        )
        .await
        .unwrap();
        assert_eq!(value, 7);
        assert_eq!(start.elapsed(), Duration::from_secs(1));
        let registered = THREAD_TIMER.with(|t| lock(t).slots.iter().flatten().count());
        assert_eq!(registered, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn each_deadline_ends_its_own_future_exactly_on_time() {
        let start = Instant::now();
        // Registered latest-first, so each registration arms an earlier timer; and in the
        // other order, where one `Sleep` serves several deadlines.
        let seconds = [9u64, 3, 6, 1, 2, 8, 2];
        let tasks: Vec<_> = seconds
            .iter()
            .map(|&s| {
                tokio::spawn(async move {
                    let result = at(start + Duration::from_secs(s), boxed(pending::<()>())).await;
                    (s, result.is_err(), start.elapsed())
                })
            })
            .collect();
        for task in tasks {
            let (s, timed_out, elapsed) = task.await.unwrap();
            assert!(timed_out, "{s}");
            assert_eq!(elapsed, Duration::from_secs(s), "{s}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_completed_attempt_leaves_the_others_timed() {
        let start = Instant::now();
        // The first attempt arms the timer for 1 s and completes at once; the second, due at
        // 4 s, must still end at 4 s.
        assert!(at(start + Duration::from_secs(1), boxed(ready(())))
            .await
            .is_ok());
        let result = at(start + Duration::from_secs(4), boxed(pending::<()>())).await;
        assert!(result.is_err());
        assert_eq!(start.elapsed(), Duration::from_secs(4));
    }

    #[tokio::test(start_paused = true)]
    async fn a_new_sleep_answers_for_the_earliest_registered_deadline() {
        let timer = Arc::new(Mutex::new(Timer::default()));
        let start = Instant::now();
        let mut state = lock(&timer);
        state.insert(start + Duration::from_secs(2), Waker::noop(), &timer);
        // As when its `Sleep` has fired but not yet woken anyone, and a later attempt comes.
        state.sleep = None;
        state.insert(start + Duration::from_secs(9), Waker::noop(), &timer);
        let armed_for = state.sleep.as_ref().map(|(_, at)| *at);
        assert_eq!(armed_for, Some(start + Duration::from_secs(2)));
    }

    #[test]
    fn a_new_runtime_on_the_same_thread_gets_its_own_timer() {
        // Each round leaves this thread's `Sleep` armed for 1 s in a runtime that is then
        // dropped; the next round's deadline (10 s) is later, so only noticing that the old
        // `Sleep` is done (tokio fires every timer on shutdown) keeps it from waiting forever.
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for round in 0..3 {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_time()
                    .start_paused(true)
                    .build()
                    .unwrap();
                let elapsed = runtime.block_on(async {
                    let start = Instant::now();
                    let result = at(start + Duration::from_secs(10), boxed(pending::<()>())).await;
                    assert!(result.is_err(), "round {round}");
                    let elapsed = start.elapsed();
                    // Pending once (so it registers and arms the `Sleep`), then done.
                    let yields = boxed(tokio::task::yield_now());
                    assert!(at(Instant::now() + Duration::from_secs(1), yields)
                        .await
                        .is_ok());
                    let armed = THREAD_TIMER.with(|t| lock(t).sleep.is_some());
                    assert!(armed, "round {round}: the 1 s `Sleep` stays armed");
                    elapsed
                });
                assert_eq!(elapsed, Duration::from_secs(10), "round {round}");
            }
            let _ = done.send(());
        });
        finished
            .recv_timeout(Duration::from_secs(30))
            .expect("a deadline in a new runtime never fired");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn many_attempts_on_many_threads_each_end_by_their_deadline() {
        let start = Instant::now();
        let tasks: Vec<_> = (0..200u64)
            .map(|i| {
                tokio::spawn(async move {
                    let limit = Duration::from_millis(20 + i % 7 * 10);
                    let completes = i % 2 == 0;
                    let work = boxed(async move {
                        if completes {
                            tokio::time::sleep(Duration::from_millis(5)).await;
                        } else {
                            pending::<()>().await;
                        }
                    });
                    let result = at(Instant::now() + limit, work).await;
                    (completes, result.is_ok())
                })
            })
            .collect();
        for task in tasks {
            let (completes, ok) = task.await.unwrap();
            assert_eq!(completes, ok);
        }
        // Every pending one ended near its deadline, not a tick later.
        assert!(start.elapsed() < Duration::from_secs(2));
    }
}
