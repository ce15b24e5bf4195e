//! Single flight for the hot paths (the consumer API's, and each view of a
//! page: its session, admin and version): concurrent requests that
//! need the same database work (the same credential read, the same
//! organisation's rate-limit count) share one round trip instead of
//! queueing for a connection each.
//!
//! The rule that keeps "refused on the very next request" true: a request
//! never takes the answer of work that began before it arrived. Requests
//! that arrive while a round trip for their key is under way wait for the
//! next one, which starts as soon as the current one ends and serves all of
//! them: its leader is the first of them, and it learns how many it serves
//! (`n`), so a count (the rate limit's) can take them all in one statement.
//!
//! Nothing runs in the background. A leader whose request is cancelled
//! (the client went away) hands its waiters to the next leader on drop.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::hash::Hash;
use std::sync::Mutex;
use tokio::sync::oneshot;

/// Keys with a round trip under way, each with the requests waiting for
/// the next one. `S` is what a round trip answers, shared by its requests;
/// `I` what each request brings to it (nothing for a read; a submission's
/// row for a batch of submissions).
#[derive(Debug)]
pub(crate) struct Flights<K, S, I = ()> {
    waiting: Mutex<HashMap<K, Queue<S, I>>>,
}

/// The requests waiting for a key's next round trip, with what they bring.
type Queue<S, I> = VecDeque<(I, oneshot::Sender<Reply<S>>)>;

impl<K, S, I> Default for Flights<K, S, I> {
    fn default() -> Self {
        Flights {
            waiting: Mutex::default(),
        }
    }
}

/// What a waiting request is told.
#[derive(Debug)]
enum Reply<S> {
    /// The round trip that served it, and its place among the `n` served
    /// (0 is the leader).
    Done(S, usize),
    /// It leads the next round trip.
    Lead,
}

impl<K: Eq + Hash + Clone, S: Clone> Flights<K, S> {
    /// Runs `work(n)` for this request and the `n - 1` others that are
    /// waiting for `key` when it starts, or waits for such a round trip led
    /// by another request. Answers the round trip's result and this
    /// request's place in it (`0..n`). An error is the leader's; the
    /// requests it would have served wait for the next round trip instead.
    pub(crate) async fn run<F, Fut, E>(&self, key: K, work: F) -> Result<(S, usize), E>
    where
        F: FnOnce(usize) -> Fut,
        Fut: Future<Output = Result<S, E>>,
    {
        self.run_with(key, (), |items| work(items.len())).await
    }
}

impl<K: Eq + Hash + Clone, S: Clone, I: Clone> Flights<K, S, I> {
    /// [`Flights::run`] for requests that each bring an `item`: the round
    /// trip's `work` gets them all, this request's first, in the order of
    /// the places it answers.
    pub(crate) async fn run_with<F, Fut, E>(
        &self,
        key: K,
        item: I,
        work: F,
    ) -> Result<(S, usize), E>
    where
        F: FnOnce(Vec<I>) -> Fut,
        Fut: Future<Output = Result<S, E>>,
    {
        loop {
            let waiting = {
                let mut map = self.lock();
                match map.entry(key.clone()) {
                    Entry::Vacant(vacant) => {
                        vacant.insert(VecDeque::new());
                        None
                    }
                    Entry::Occupied(mut occupied) => {
                        let (tx, rx) = oneshot::channel();
                        occupied.get_mut().push_back((item.clone(), tx));
                        Some(Waiting {
                            flights: self,
                            key: &key,
                            rx: Some(rx),
                        })
                    }
                }
            };
            let Some(mut waiting) = waiting else { break };
            match waiting.reply().await {
                Some(Reply::Done(shared, place)) => return Ok((shared, place)),
                Some(Reply::Lead) => break,
                // The flights were dropped: arrive again.
                None => continue,
            }
        }
        self.lead(key, item, work).await
    }

    async fn lead<F, Fut, E>(&self, key: K, item: I, work: F) -> Result<(S, usize), E>
    where
        F: FnOnce(Vec<I>) -> Fut,
        Fut: Future<Output = Result<S, E>>,
    {
        // The guard first: a leader cancelled from here on still hands the
        // key on (`Flight`'s drop).
        let mut flight = Flight {
            flights: self,
            key,
            served: Vec::new(),
        };
        // The requests that are ready to run are let in first: under load
        // they reach the queue in the meantime and share this round trip
        // instead of waiting for the next (a leader woken by the last round
        // trip's end would otherwise run at once, before any of them).
        tokio::task::yield_now().await;
        flight.served = self
            .lock()
            .get_mut(&flight.key)
            .map(|queue| queue.drain(..).collect())
            .unwrap_or_default();
        let items = std::iter::once(item)
            .chain(flight.served.iter().map(|(item, _)| item.clone()))
            .collect();
        let result = work(items).await;
        if let Ok(shared) = &result {
            for (i, (_, tx)) in flight.served.drain(..).enumerate() {
                // A receiver that is gone was a request cancelled meanwhile.
                let _ = tx.send(Reply::Done(shared.clone(), i + 1));
            }
        }
        // `flight` drops here: the unserved (on error) wait for the next
        // round trip, whose leader it names.
        drop(flight);
        result.map(|shared| (shared, 0))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, Queue<S, I>>> {
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A round trip under way. On drop — done, failed or cancelled — it puts the
/// requests it did not serve back at the front of the queue and makes the
/// first waiting request the next leader, or ends the key's flight.
struct Flight<'a, K: Eq + Hash, S, I> {
    flights: &'a Flights<K, S, I>,
    key: K,
    served: Vec<(I, oneshot::Sender<Reply<S>>)>,
}

impl<K: Eq + Hash, S, I> Drop for Flight<'_, K, S, I> {
    fn drop(&mut self) {
        let served = std::mem::take(&mut self.served);
        self.flights.hand_off(&self.key, served);
    }
}

impl<K: Eq + Hash, S, I> Flights<K, S, I> {
    /// Ends a round trip of `key`: `unserved` back at the front of the
    /// queue, and the first waiting request still there told to lead the
    /// next, or, with none waiting, the key's flight over.
    fn hand_off(&self, key: &K, unserved: Vec<(I, oneshot::Sender<Reply<S>>)>) {
        let mut map = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        let Some(queue) = map.get_mut(key) else {
            return;
        };
        for waiter in unserved.into_iter().rev() {
            queue.push_front(waiter);
        }
        while let Some((_, tx)) = queue.pop_front() {
            if tx.send(Reply::Lead).is_ok() {
                return;
            }
        }
        map.remove(key);
    }
}

/// A request waiting in the queue. If it is cancelled after it was told to
/// lead but before it could, it passes the lead on as it goes: otherwise
/// the key would wait for a leader that never comes.
struct Waiting<'a, K: Eq + Hash, S, I> {
    flights: &'a Flights<K, S, I>,
    key: &'a K,
    rx: Option<oneshot::Receiver<Reply<S>>>,
}

impl<K: Eq + Hash, S, I> Waiting<'_, K, S, I> {
    /// What this request is told; `None` if the flights went away.
    async fn reply(&mut self) -> Option<Reply<S>> {
        let reply = match self.rx.as_mut() {
            Some(rx) => rx.await.ok(),
            None => None,
        };
        self.rx = None;
        reply
    }
}

impl<K: Eq + Hash, S, I> Drop for Waiting<'_, K, S, I> {
    fn drop(&mut self) {
        let Some(mut rx) = self.rx.take() else {
            return;
        };
        // No reply can come after this: a leader that tries moves on.
        rx.close();
        if let Ok(Reply::Lead) = rx.try_recv() {
            self.flights.hand_off(self.key, Vec::new());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Flights;
    use std::future::Future;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    /// 50 concurrent requests for one key: fewer round trips than requests,
    /// every request served once, and the places of each round trip are
    /// `0..n` with the `n` it was told.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_requests_share_round_trips_and_each_is_served_once() {
        let flights = Arc::new(Flights::<u8, (usize, usize)>::default());
        let trips = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let (flights, trips) = (flights.clone(), trips.clone());
            tasks.push(tokio::spawn(async move {
                flights
                    .run(1, |n| async move {
                        let trip = trips.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(5)).await;
                        Ok::<_, ()>((trip, n))
                    })
                    .await
            }));
        }
        let mut served = std::collections::HashMap::<usize, Vec<usize>>::new();
        for task in tasks {
            let ((trip, n), place) = task.await.expect("task").expect("served");
            assert!(place < n);
            served.entry(trip).or_default().push(place);
        }
        let trips = trips.load(Ordering::SeqCst);
        assert!(trips < 50, "{trips} round trips for 50 requests");
        assert_eq!(served.values().map(Vec::len).sum::<usize>(), 50);
        for places in served.values_mut() {
            places.sort_unstable();
            assert_eq!(*places, (0..places.len()).collect::<Vec<_>>());
        }
        assert!(flights.lock().is_empty(), "no flight left behind");
    }

    /// A request that arrives while a round trip is under way is not given
    /// that round trip's answer: it waits for one that starts after it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_request_never_takes_the_answer_of_work_begun_before_it_arrived() {
        let flights = Arc::new(Flights::<u8, usize>::default());
        let version = Arc::new(AtomicUsize::new(0));
        let (started_tx, started_rx) = tokio::sync::oneshot::channel();
        let first = {
            let (flights, version) = (flights.clone(), version.clone());
            tokio::spawn(async move {
                flights
                    .run(1, |_| async move {
                        let seen = version.load(Ordering::SeqCst);
                        let _ = started_tx.send(());
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Ok::<_, ()>(seen)
                    })
                    .await
            })
        };
        started_rx.await.expect("the first round trip started");
        // A change lands, then a request arrives: it must see the change.
        version.store(1, Ordering::SeqCst);
        let read = version.clone();
        let (seen, _) = flights
            .run(
                1,
                |_| async move { Ok::<_, ()>(read.load(Ordering::SeqCst)) },
            )
            .await
            .expect("served");
        assert_eq!(seen, 1);
        assert_eq!(first.await.expect("task").expect("served").0, 0);
    }

    /// A failed or cancelled leader does not strand its waiters: each is
    /// served by a later round trip.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn waiters_of_a_failed_or_cancelled_leader_are_served_by_the_next() {
        let flights = Arc::new(Flights::<u8, ()>::default());
        let cancelled = {
            let flights = flights.clone();
            tokio::spawn(async move {
                flights
                    .run(1, |_| async {
                        tokio::time::sleep(Duration::from_secs(60)).await;
                        Ok::<_, ()>(())
                    })
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        let failing = {
            let flights = flights.clone();
            tokio::spawn(async move { flights.run(1, |_| async { Err::<(), _>("down") }).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        let fine = {
            let flights = flights.clone();
            tokio::spawn(async move { flights.run(1, |_| async { Ok::<_, &str>(()) }).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        cancelled.abort();
        let failed = failing.await.expect("task");
        let served = fine.await.expect("task");
        // The first waiter led next and got its own error; the second led
        // the round trip after it.
        assert_eq!(failed, Err("down"));
        assert_eq!(served, Ok(((), 0)));
        assert!(flights.lock().is_empty(), "no flight left behind");
    }

    /// After a cancelled request: the key's next request is served, and no
    /// flight is left behind.
    async fn a_later_request_is_served(flights: &Flights<u8, ()>) {
        let next = tokio::time::timeout(
            Duration::from_secs(5),
            flights.run(1, |_| async { Ok::<_, ()>(()) }),
        )
        .await;
        assert_eq!(next.expect("served, not stuck"), Ok(((), 0)));
        assert!(flights.lock().is_empty(), "no flight left behind");
    }

    /// A leader dropped while it lets the ready requests in (before its
    /// round trip starts) hands the key on: later requests are served.
    #[tokio::test(flavor = "current_thread")]
    async fn a_leader_cancelled_before_its_round_trip_passes_the_lead_on() {
        let flights = Arc::new(Flights::<u8, ()>::default());
        let mut leader = Box::pin(flights.run(1, |_| async { Ok::<_, ()>(()) }));
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(leader.as_mut().poll(&mut cx).is_pending(), "yielding");
        let waiter = {
            let flights = flights.clone();
            tokio::spawn(async move { flights.run(1, |_| async { Ok::<_, ()>(()) }).await })
        };
        tokio::task::yield_now().await;
        drop(leader);
        let served = tokio::time::timeout(Duration::from_secs(5), waiter).await;
        assert_eq!(
            served.expect("served, not stuck").expect("task"),
            Ok(((), 0))
        );
        a_later_request_is_served(&flights).await;
    }

    /// A waiting request told to lead, then cancelled before it could (a
    /// client that hung up): the lead passes on, and the key is served.
    #[tokio::test(flavor = "current_thread")]
    async fn a_request_cancelled_after_it_was_told_to_lead_passes_the_lead_on() {
        let flights = Arc::new(Flights::<u8, ()>::default());
        let (finish_tx, finish_rx) = tokio::sync::oneshot::channel::<()>();
        let leader = {
            let flights = flights.clone();
            tokio::spawn(async move {
                flights
                    .run(1, |_| async {
                        let _ = finish_rx.await;
                        Ok::<_, ()>(())
                    })
                    .await
            })
        };
        tokio::task::yield_now().await;
        // The follower, polled by hand: once to join the queue, never again.
        let mut follower = Box::pin(flights.run(1, |_| async { Ok::<_, ()>(()) }));
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(follower.as_mut().poll(&mut cx).is_pending(), "queued");
        // The leader ends and tells the follower to lead; the follower is
        // dropped without running again.
        let _ = finish_tx.send(());
        assert_eq!(leader.await.expect("leader"), Ok(((), 0)));
        drop(follower);
        a_later_request_is_served(&flights).await;
    }
}
