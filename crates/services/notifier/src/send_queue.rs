//! One socket's send queue: what waits to be written to one client. The hub fills it without
//! ever waiting on the client; the socket's task empties it.
//!
//! Ordinary messages queue, up to a limit: a client that falls that far behind is too
//! slow and is dropped (it reconnects and refetches the snapshot). Positions do not
//! queue: each courier (ops) or order (customer) has one slot, and a newer position
//! replaces one not yet written, so a slow client gets the latest position, not a
//! backlog of old ones.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::Notify;

use crate::messages::Body;

/// Why the hub wants a socket closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// The client fell more than the queue limit behind.
    TooSlow,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Body>,
    /// Latest position per key, in the order the keys first got one.
    slots: HashMap<Arc<str>, Body>,
    slot_order: VecDeque<Arc<str>>,
    closed: Option<Closed>,
}

pub struct SendQueue {
    state: Mutex<State>,
    wake: Notify,
    limit: usize,
}

/// What the socket's task takes out at once.
#[derive(Debug, Default)]
pub struct Taken {
    pub messages: Vec<Body>,
    pub closed: Option<Closed>,
}

impl SendQueue {
    pub fn new(limit: usize) -> Arc<Self> {
        Arc::new(Self { state: Mutex::new(State::default()), wake: Notify::new(), limit })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // Nothing in here panics while holding the lock; a poisoned lock still holds
        // consistent data.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues a message; false when the client has fallen too far behind (it is then
    /// marked for closing and its queue is dropped).
    pub fn push(&self, body: Body) -> bool {
        let mut state = self.state();
        if state.closed.is_some() {
            return false;
        }
        if state.queue.len() + state.slot_order.len() >= self.limit {
            state.closed = Some(Closed::TooSlow);
            state.queue.clear();
            state.slots.clear();
            state.slot_order.clear();
            drop(state);
            self.wake.notify_one();
            return false;
        }
        state.queue.push_back(body);
        drop(state);
        self.wake.notify_one();
        true
    }

    /// Puts a position in its slot, replacing one not written yet.
    pub fn replace(&self, key: &Arc<str>, body: Body) {
        let mut state = self.state();
        if state.closed.is_some() {
            return;
        }
        if state.slots.insert(Arc::clone(key), body).is_none() {
            state.slot_order.push_back(Arc::clone(key));
        }
        drop(state);
        self.wake.notify_one();
    }

    /// Waits until there is something to write (or a reason to close).
    pub async fn ready(&self) {
        self.wake.notified().await;
    }

    /// Everything waiting: queued messages first, then the latest positions.
    pub fn take(&self) -> Taken {
        let mut state = self.state();
        let mut messages: Vec<Body> = state.queue.drain(..).collect();
        let order: Vec<Arc<str>> = state.slot_order.drain(..).collect();
        for key in order {
            if let Some(body) = state.slots.remove(&key) {
                messages.push(body);
            }
        }
        Taken { messages, closed: state.closed }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(text: &str) -> Body {
        Arc::from(text)
    }

    #[test]
    fn positions_coalesce_and_messages_keep_their_order() {
        let queue = SendQueue::new(10);
        let courier: Arc<str> = Arc::from("c1");
        queue.replace(&courier, body("p1"));
        assert!(queue.push(body("m1")));
        queue.replace(&courier, body("p2"));
        assert!(queue.push(body("m2")));
        let taken = queue.take();
        let texts: Vec<&str> = taken.messages.iter().map(|b| &**b).collect();
        assert_eq!(texts, ["m1", "m2", "p2"]);
        assert!(taken.closed.is_none());
        assert!(queue.take().messages.is_empty());
    }

    #[test]
    fn a_client_past_the_limit_is_marked_too_slow_and_gets_nothing_more() {
        let queue = SendQueue::new(3);
        for n in 0..3 {
            assert!(queue.push(body(&n.to_string())));
        }
        assert!(!queue.push(body("one too many")));
        let taken = queue.take();
        assert!(taken.messages.is_empty());
        assert_eq!(taken.closed, Some(Closed::TooSlow));
        assert!(!queue.push(body("after")));
    }
}
