//! A pool of native threads for blocking work (gevent's `gevent.threadpool`): CPU-heavy
//! computations, blocking calls of C libraries, DNS lookups ([`resolver`]). The greenlet that
//! submits a job waits for its result cooperatively: the hub keeps running other greenlets
//! meanwhile.
//!
//! [`ThreadPool::spawn`] returns the job's outcome as an
//! [`AsyncResult`] (as gevent's `spawn` does): a panic in the job is
//! its exception, a [`GreenletError`]. [`ThreadPool::apply`] waits
//! and returns the value (re-raising a panic).
//!
//! # Implementation
//!
//! * Jobs go into a queue (a `parking_lot` mutex and condition variable) served by worker
//!   threads named `gevent-threadpool-N`, started on demand up to `maxsize`; a worker idle for
//!   `idle_timeout` (5 s by default) exits.
//! * A finished job sends its outcome back to the submitting thread's hub in a callback,
//!   through [`RemoteHub::run_callback`](gevent_hub::RemoteHub::run_callback), which wakes
//!   that hub's poller; the callback, in the hub, sets the job's `AsyncResult`, waking its
//!   waiters. Nothing of the job's result is shared between threads but that message.
//! * While a job is under way, a [`HoldGuard`](gevent_hub::HoldGuard) keeps the submitting
//!   hub's loop alive (a greenlet waiting only for the pool is not "blocked forever").
//! * A panic in a job is caught in the worker, which survives it.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use gevent_threadpool::ThreadPool;
//!
//! let pool = ThreadPool::new(4);
//! // Four blocking jobs on four threads, while this thread's hub keeps running greenlets.
//! let jobs: Vec<_> = (0..4u64)
//!     .map(|i| pool.spawn(move || { std::thread::sleep(Duration::from_millis(20)); i * i }))
//!     .collect();
//! gevent_hub::joinall(&jobs);
//! let squares: Vec<u64> = jobs.iter().map(|j| j.get().unwrap()).collect();
//! assert_eq!(squares, [0, 1, 4, 9]);
//! ```

#![forbid(unsafe_code)]
#![cfg_attr(
    not(target_os = "linux"),
    doc = "gevent for Rust runs on Linux only (epoll, pidfds, rustix's raw system calls)."
)]

#[cfg(not(target_os = "linux"))]
compile_error!("gevent-threadpool supports Linux only (the hub under it is epoll-based)");

pub mod resolver;

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use gevent_event::AsyncResult;
use gevent_hub::{get_hub, GreenletError, RemoteHub};
use parking_lot::{Condvar, Mutex};
use slab::Slab;

/// How long an idle worker waits for a job before it exits, unless changed.
///
/// # Examples
///
/// ```
/// use gevent_threadpool::DEFAULT_IDLE_TIMEOUT;
/// assert_eq!(DEFAULT_IDLE_TIMEOUT, std::time::Duration::from_secs(5));
/// ```
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(5);

/// The size of the default pool (gevent's `GEVENT_THREADPOOL_SIZE` default is 10).
///
/// # Examples
///
/// ```
/// use gevent_threadpool::{default, DEFAULT_MAXSIZE};
/// assert_eq!(default().maxsize(), DEFAULT_MAXSIZE);
/// ```
pub const DEFAULT_MAXSIZE: usize = 10;

/// A job as the workers see it.
type Job = Box<dyn FnOnce() + Send>;

/// A job's outcome on its way back to the submitting hub: `std::thread::Result<T>`, boxed.
type Outcome = Box<dyn Any + Send>;

/// What runs in the submitting hub with a job's outcome.
type Completion = Box<dyn FnOnce(Outcome)>;

/// A job's result slot, on the submitting thread (for `apply` and `map`).
type Slot<T> = Rc<RefCell<Option<std::thread::Result<T>>>>;

/// Numbers worker threads across all pools.
static THREAD_SEQ: AtomicUsize = AtomicUsize::new(0);

/// A pool of worker threads (gevent's `ThreadPool`). Cheap to clone (all clones are the same
/// pool) and `Send + Sync`: results go back to the hub of the thread that submitted each job.
///
/// # Examples
///
/// ```
/// let pool = gevent_threadpool::ThreadPool::new(2);
/// assert_eq!(pool.apply(|| 6 * 7), 42);
/// assert_eq!(pool.map(|x: u32| x + 1, vec![1, 2, 3]), [2, 3, 4]);
/// ```
#[derive(Clone)]
pub struct ThreadPool {
    /// The shared state.
    inner: Arc<Inner>,
}

/// What the pool's handles and workers share.
struct Inner {
    /// Queue and counters.
    state: Mutex<State>,
    /// Signals workers that a job is queued (or that they should look at the limits again).
    cv: Condvar,
}

/// The pool's mutable state.
struct State {
    /// Jobs not yet taken by a worker.
    queue: VecDeque<Job>,
    /// Live worker threads.
    threads: usize,
    /// Workers waiting for a job, or started and not yet looking at the queue.
    idle: usize,
    /// The most threads the pool runs.
    maxsize: usize,
    /// How long an idle worker lives.
    idle_timeout: Duration,
}

impl ThreadPool {
    /// A pool of at most `maxsize` threads; none is started before the first job. A pool of
    /// `maxsize` 0 queues jobs until [`set_maxsize`](ThreadPool::set_maxsize) raises it.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = gevent_threadpool::ThreadPool::new(4);
    /// assert_eq!((pool.size(), pool.maxsize()), (0, 4));
    /// ```
    pub fn new(maxsize: usize) -> ThreadPool {
        ThreadPool {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    queue: VecDeque::new(),
                    threads: 0,
                    idle: 0,
                    maxsize,
                    idle_timeout: DEFAULT_IDLE_TIMEOUT,
                }),
                cv: Condvar::new(),
            }),
        }
    }

    /// The number of worker threads alive now.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = gevent_threadpool::ThreadPool::new(2);
    /// assert_eq!(pool.size(), 0);
    /// pool.apply(|| ());
    /// assert_eq!(pool.size(), 1);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn size(&self) -> usize {
        self.inner.state.lock().threads
    }

    /// The most threads the pool runs.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = gevent_threadpool::ThreadPool::new(3);
    /// assert_eq!(pool.maxsize(), 3);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn maxsize(&self) -> usize {
        self.inner.state.lock().maxsize
    }

    /// Changes the limit (gevent's `maxsize` setter). Lowering it lets surplus threads exit
    /// once their current job ends (0 pauses the pool: jobs stay queued); raising it starts
    /// threads for the jobs that wait.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = gevent_threadpool::ThreadPool::new(0);
    /// let r = pool.spawn(|| 1);
    /// gevent_hub::sleep(std::time::Duration::from_millis(20));
    /// assert!(!r.ready());
    /// pool.set_maxsize(1);
    /// assert_eq!(r.get().unwrap(), 1);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn set_maxsize(&self, maxsize: usize) {
        self.inner.state.lock().maxsize = maxsize;
        self.inner.cv.notify_all();
        self.start_workers();
    }

    /// How long an idle worker waits for a job before exiting (default 5 s).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let pool = gevent_threadpool::ThreadPool::new(1);
    /// pool.set_idle_timeout(Duration::from_millis(20));
    /// pool.apply(|| ());
    /// assert_eq!(pool.size(), 1);
    /// let t = std::time::Instant::now();
    /// while pool.size() > 0 && t.elapsed() < Duration::from_secs(5) {
    ///     gevent_hub::sleep(Duration::from_millis(10));
    /// }
    /// assert_eq!(pool.size(), 0);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn set_idle_timeout(&self, d: Duration) {
        self.inner.state.lock().idle_timeout = d;
        self.inner.cv.notify_all();
    }

    /// The number of jobs waiting for a free thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = gevent_threadpool::ThreadPool::new(0);
    /// let _job = pool.spawn(|| ());
    /// assert_eq!(pool.queued(), 1);
    /// pool.set_maxsize(1);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn queued(&self) -> usize {
        self.inner.state.lock().queue.len()
    }

    /// Runs `f` on a worker thread; returns at once with an
    /// [`AsyncResult`] that the calling thread's hub sets when the
    /// job is done (gevent's `spawn`): its value, or, if `f` panicked, its exception (a
    /// [`GreenletError`] holding the panic). Dropping every handle abandons the result (the
    /// job still runs). It is a [`Waitable`](gevent_hub::Waitable), so `joinall`, `wait` and
    /// `iwait` accept it.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = gevent_threadpool::ThreadPool::new(1);
    /// let r = pool.spawn(|| std::thread::current().name().unwrap().to_owned());
    /// assert!(r.get().unwrap().starts_with("gevent-threadpool-"));
    /// # let prev = std::panic::take_hook(); std::panic::set_hook(Box::new(|_| {}));
    /// let e = pool.spawn(|| -> u8 { panic!("bad input") }).get().unwrap_err();
    /// # std::panic::set_hook(prev);
    /// assert!(e.is_panic());
    /// assert_eq!(e.message(), "bad input");
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn spawn<T, F>(&self, f: F) -> AsyncResult<T>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let result = AsyncResult::new();
        let r2 = result.clone();
        self.submit(f, move |outcome| {
            r2.set_result(outcome.map_err(GreenletError::from_panic));
        });
        result
    }

    /// Runs `f` on a worker thread and waits for its result (gevent's `apply`). `T` need not
    /// be `Clone`.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = gevent_threadpool::ThreadPool::new(1);
    /// assert_eq!(pool.apply(|| "done"), "done");
    /// ```
    ///
    /// # Panics
    ///
    /// Re-raises a panic of `f` in the caller (with its original payload).
    ///
    /// # Switches
    ///
    /// Yes, until the job is done.
    ///
    /// # Kill safety
    ///
    /// A kill abandons the result; the job still runs to its end on its thread.
    pub fn apply<T, F>(&self, f: F) -> T
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let slot: Slot<T> = Rc::default();
        let done = AsyncResult::<()>::new();
        let (s2, d2) = (slot.clone(), done.clone());
        self.submit(f, move |outcome| {
            *s2.borrow_mut() = Some(outcome);
            d2.set(());
        });
        done.wait();
        let outcome = slot.borrow_mut().take();
        match outcome.expect("set before the AsyncResult") {
            Ok(v) => v,
            Err(p) => panic::resume_unwind(p),
        }
    }

    /// Runs `f` on every item, spread over the pool's threads, and returns the results in
    /// order (gevent's `map`).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = gevent_threadpool::ThreadPool::new(3);
    /// assert_eq!(pool.map(|s: &str| s.len(), ["a", "bb", "ccc"]), [1, 2, 3]);
    /// ```
    ///
    /// # Panics
    ///
    /// Re-raises the first (in item order) panic of `f`, after all jobs ended.
    ///
    /// # Switches
    ///
    /// Yes, until every job is done.
    ///
    /// # Kill safety
    ///
    /// A kill abandons the results; the jobs still run.
    pub fn map<I, T, F>(&self, f: F, items: impl IntoIterator<Item = I>) -> Vec<T>
    where
        I: Send + 'static,
        T: Send + 'static,
        F: Fn(I) -> T + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        // Set by whichever job completes last.
        let all = AsyncResult::<()>::new();
        let left = Rc::new(Cell::new(1usize));
        let slots: Vec<Slot<T>> = items
            .into_iter()
            .map(|i| {
                let f = f.clone();
                let slot: Slot<T> = Rc::default();
                let (s2, l2, a2) = (slot.clone(), left.clone(), all.clone());
                left.set(left.get() + 1);
                self.submit(
                    move || f(i),
                    move |o| {
                        *s2.borrow_mut() = Some(o);
                        count_down(&l2, &a2);
                    },
                );
                slot
            })
            .collect();
        count_down(&left, &all);
        all.wait();
        let mut out = Vec::with_capacity(slots.len());
        let mut first_err = None;
        for s in slots {
            match s.borrow_mut().take().expect("every job completed") {
                Ok(v) => out.push(v),
                Err(p) => {
                    first_err.get_or_insert(p);
                }
            }
        }
        if let Some(p) = first_err {
            panic::resume_unwind(p);
        }
        out
    }

    /// Queues `f`; when it is done, `complete` runs in this thread's hub with its outcome.
    /// Keeps the hub's loop alive meanwhile.
    fn submit<T, F>(&self, f: F, complete: impl FnOnce(std::thread::Result<T>) + 'static)
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let remote: RemoteHub = get_hub().remote();
        let hold = remote.hold();
        let mut completion = Some(Box::new(move |o: Outcome| {
            let o = *o
                .downcast::<std::thread::Result<T>>()
                .expect("the outcome of the job registered under this id");
            complete(o);
        }) as Completion);
        // `try_with`: a `Drop` run by the hub's teardown at thread exit may submit a job after
        // this thread-local is gone; its result could never come back, so it fails at once.
        let registered = PENDING.try_with(|p| {
            let c = completion.take().expect("taken once");
            p.borrow_mut().insert(c)
        });
        let Ok(id) = registered else {
            drop(hold);
            if let Some(c) = completion {
                let e: std::thread::Result<T> = Err(Box::new(
                    "the submitting thread is exiting: the job was not run",
                ));
                c(Box::new(e));
            }
            return;
        };
        let job: Job = Box::new(move || {
            let outcome: Outcome = Box::new(panic::catch_unwind(AssertUnwindSafe(f)));
            // If the submitting thread has gone, its hub drops the callback (and the outcome).
            remote.run_callback(move || {
                drop(hold);
                complete_job(id, outcome);
            });
        });
        self.push(job);
    }

    /// Queues a job and makes sure a thread will take it.
    fn push(&self, job: Job) {
        let mut st = self.inner.state.lock();
        st.queue.push_back(job);
        if st.idle >= st.queue.len() {
            self.inner.cv.notify_one();
            return;
        }
        drop(st);
        self.start_workers();
    }

    /// Starts threads while queued jobs outnumber idle workers and the limit allows.
    fn start_workers(&self) {
        loop {
            let mut st = self.inner.state.lock();
            if st.idle >= st.queue.len() || st.threads >= st.maxsize {
                return;
            }
            // Counted as idle until it takes a job, so that the next look does not start
            // another thread for the same job.
            st.threads += 1;
            st.idle += 1;
            drop(st);
            let n = THREAD_SEQ.fetch_add(1, Ordering::Relaxed) + 1;
            let inner = self.inner.clone();
            let r = std::thread::Builder::new()
                .name(format!("gevent-threadpool-{n}"))
                .spawn(move || worker(&inner));
            if let Err(e) = r {
                let mut st = self.inner.state.lock();
                st.threads -= 1;
                st.idle -= 1;
                let orphan = if st.threads == 0 {
                    st.queue.pop_back()
                } else {
                    None
                };
                drop(st);
                tracing::warn!(error = %e, "the thread pool could not start a thread");
                if let Some(job) = orphan {
                    // No thread at all: run it here rather than never.
                    job();
                }
                return;
            }
        }
    }
}

impl fmt::Debug for ThreadPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.inner.state.lock();
        f.debug_struct("ThreadPool")
            .field("size", &st.threads)
            .field("maxsize", &st.maxsize)
            .field("idle", &st.idle)
            .field("queued", &st.queue.len())
            .finish()
    }
}

/// A worker thread's loop: take jobs until idle for too long (or surplus).
fn worker(inner: &Inner) {
    let mut st = inner.state.lock();
    // Started as "idle" by `start_workers`.
    st.idle -= 1;
    loop {
        if st.threads > st.maxsize {
            break;
        }
        if let Some(job) = st.queue.pop_front() {
            drop(st);
            job();
            st = inner.state.lock();
            continue;
        }
        st.idle += 1;
        let timeout = st.idle_timeout;
        let r = inner.cv.wait_for(&mut st, timeout);
        st.idle -= 1;
        if r.timed_out() && st.queue.is_empty() {
            break;
        }
    }
    st.threads -= 1;
}

thread_local! {
    /// What to do in this hub when a job submitted from this thread completes, by id.
    static PENDING: RefCell<Slab<Completion>> = const { RefCell::new(Slab::new()) };
    /// This thread's default pool.
    static DEFAULT: RefCell<Option<ThreadPool>> = const { RefCell::new(None) };
}

/// Runs in the submitting hub when a job is done.
fn complete_job(id: usize, outcome: Outcome) {
    let f = PENDING
        .try_with(|p| p.borrow_mut().try_remove(id))
        .ok()
        .flatten();
    if let Some(f) = f {
        f(outcome);
    }
}

/// Counts one completion down; the last one sets `all`.
fn count_down(left: &Cell<usize>, all: &AsyncResult<()>) {
    left.set(left.get() - 1);
    if left.get() == 0 {
        all.set(());
    }
}

/// This thread's default pool (gevent's `get_hub().threadpool`), created on first use with
/// [`DEFAULT_MAXSIZE`] threads; the DNS [`resolver`] runs on it.
///
/// # Examples
///
/// ```
/// let n = gevent_threadpool::default().apply(|| 1 + 1);
/// assert_eq!(n, 2);
/// ```
///
/// # Switches
///
/// Never.
pub fn default() -> ThreadPool {
    DEFAULT.with(|d| {
        d.borrow_mut()
            .get_or_insert_with(|| ThreadPool::new(DEFAULT_MAXSIZE))
            .clone()
    })
}

/// Thread-safe handles are thread-safe.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<ThreadPool>();
};
