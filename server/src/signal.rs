//! A one-shot value sent from one thread to a greenlet of another: how the threads of a
//! multi-threaded server report that they started, receive `close`/`stop`, and report that
//! they finished, without blocking any hub.

use std::cell::RefCell;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gevent_event::Event;
use gevent_hub::{get_hub, RemoteHub};

thread_local! {
    /// The events greenlets of this thread wait on, by key (a slab with a free list).
    static WAITERS: RefCell<(Vec<Option<Event>>, Vec<usize>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

/// The shared state of a [`Signal`].
struct State<T> {
    /// The values sent and not yet taken, in order.
    values: Vec<T>,
    /// The greenlet waiting: its hub and its event's key in that thread's `WAITERS`.
    waiter: Option<(RemoteHub, usize)>,
}

/// A cross-thread mailbox: `send` from any thread, `recv` (cooperative) on one.
pub(crate) struct Signal<T> {
    /// The state, behind a mutex held only for a few instructions.
    state: Arc<Mutex<State<T>>>,
}

impl<T> Clone for Signal<T> {
    fn clone(&self) -> Self {
        Signal {
            state: self.state.clone(),
        }
    }
}

impl<T: Send + 'static> Signal<T> {
    /// An empty mailbox.
    pub(crate) fn new() -> Signal<T> {
        Signal {
            state: Arc::new(Mutex::new(State {
                values: Vec::new(),
                waiter: None,
            })),
        }
    }

    /// Sends `v`, waking the receiver's greenlet if it waits. Returns `false` if the receiver's
    /// thread has gone.
    pub(crate) fn send(&self, v: T) -> bool {
        let waiter = {
            let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
            st.values.push(v);
            st.waiter.clone()
        };
        match waiter {
            Some((remote, key)) => remote.run_callback(move || {
                WAITERS.with(|w| {
                    if let Some(Some(e)) = w.borrow().0.get(key) {
                        e.set();
                    }
                })
            }),
            None => true,
        }
    }

    /// The next value, waiting at most `timeout` (`None`: forever) for it.
    ///
    /// Switches while waiting; the thread's hub stays alive meanwhile.
    pub(crate) fn recv(&self, timeout: Option<Duration>) -> Option<T> {
        if let Some(v) = self.try_recv() {
            return Some(v);
        }
        let ev = Event::new();
        let key = WAITERS.with(|w| {
            let mut w = w.borrow_mut();
            match w.1.pop() {
                Some(k) => {
                    w.0[k] = Some(ev.clone());
                    k
                }
                None => {
                    w.0.push(Some(ev.clone()));
                    w.0.len() - 1
                }
            }
        });
        let remote = get_hub().remote();
        let _hold = remote.hold();
        let _unregister = Unregister(key, &self.state);
        {
            let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
            st.waiter = Some((remote, key));
            if !st.values.is_empty() {
                return Some(st.values.remove(0));
            }
        }
        match timeout {
            Some(t) => {
                ev.wait_timeout(t);
            }
            None => {
                ev.wait();
            }
        }
        self.try_recv()
    }

    /// The next value if one was sent.
    pub(crate) fn try_recv(&self) -> Option<T> {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if st.values.is_empty() {
            None
        } else {
            Some(st.values.remove(0))
        }
    }
}

/// Removes a waiter's registration, however its wait ends.
struct Unregister<'a, T>(usize, &'a Arc<Mutex<State<T>>>);

impl<T> Drop for Unregister<'_, T> {
    fn drop(&mut self) {
        self.1.lock().unwrap_or_else(|e| e.into_inner()).waiter = None;
        WAITERS.with(|w| {
            let mut w = w.borrow_mut();
            w.0[self.0] = None;
            w.1.push(self.0);
        });
    }
}
