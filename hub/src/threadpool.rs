//! A pool of native threads for blocking work (gevent's `gevent.threadpool`): CPU-heavy
//! computations, blocking calls of C libraries, DNS lookups. The greenlet that submits a job
//! waits for its result cooperatively: the hub keeps running other greenlets meanwhile.
//!
//! # Implementation
//!
//! Jobs go into a queue (a `parking_lot` mutex and condition variable) served by worker threads
//! named `gevent-threadpool-N`, started on demand up to `maxsize`; a worker idle for
//! `idle_timeout` (5 s by default) exits. A finished job stores its outcome in a shared slot
//! and sends a callback to the submitting thread's hub through
//! [`RemoteHub::run_callback`](crate::RemoteHub::run_callback), which wakes that hub's poller;
//! the callback marks the [`ThreadResult`] ready and wakes its waiters. While a job is under
//! way, a [`HoldGuard`](crate::HoldGuard) keeps the submitting hub's loop alive (a greenlet
//! waiting only for the pool is not "blocked forever"). A panic in a job is caught in the
//! worker and comes back as the job's [`JobError`].
//!
//! # Examples
//!
//! ```
//! use std::time::{Duration, Instant};
//! use gevent_hub::threadpool::ThreadPool;
//!
//! let pool = ThreadPool::new(4);
//! let t = Instant::now();
//! let jobs: Vec<_> = (0..4u64)
//!     .map(|i| pool.spawn(move || { std::thread::sleep(Duration::from_millis(50)); i * i }))
//!     .collect();
//! let squares: Vec<u64> = jobs.into_iter().map(|j| j.join().unwrap()).collect();
//! assert_eq!(squares, [0, 1, 4, 9]);
//! assert!(t.elapsed() < Duration::from_millis(190)); // in parallel
//! ```

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};
use slab::Slab;

use crate::error::panic_text;
use crate::hub::{get_hub, Hub};
use crate::park::Panic;
use crate::wait::{wait_one, Notify, Waitable, WaiterKey, WaiterSet};

/// How long an idle worker waits for a job before it exits, unless changed.
///
/// # Examples
///
/// ```
/// use gevent_hub::threadpool::DEFAULT_IDLE_TIMEOUT;
/// assert_eq!(DEFAULT_IDLE_TIMEOUT, std::time::Duration::from_secs(5));
/// ```
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(5);

/// The size of the default pool (gevent's `GEVENT_THREADPOOL_SIZE` default is 10).
///
/// # Examples
///
/// ```
/// use gevent_hub::threadpool::{default, DEFAULT_MAXSIZE};
/// assert_eq!(default().maxsize(), DEFAULT_MAXSIZE);
/// ```
pub const DEFAULT_MAXSIZE: usize = 10;

/// A job as the workers see it.
type Job = Box<dyn FnOnce() + Send>;

/// Numbers worker threads across all pools.
static THREAD_SEQ: AtomicUsize = AtomicUsize::new(0);

/// A pool of worker threads (gevent's `ThreadPool`). Cheap to clone (all clones are the same
/// pool) and `Send + Sync`: results go back to the hub of the thread that submitted each job.
///
/// # Examples
///
/// ```
/// let pool = gevent_hub::threadpool::ThreadPool::new(2);
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
    /// let pool = gevent_hub::threadpool::ThreadPool::new(4);
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
    /// let pool = gevent_hub::threadpool::ThreadPool::new(2);
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
    /// let pool = gevent_hub::threadpool::ThreadPool::new(3);
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
    /// let pool = gevent_hub::threadpool::ThreadPool::new(0);
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
    /// let pool = gevent_hub::threadpool::ThreadPool::new(1);
    /// pool.set_idle_timeout(Duration::from_millis(20));
    /// pool.apply(|| ());
    /// assert_eq!(pool.size(), 1);
    /// gevent_hub::sleep(Duration::from_millis(300));
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
    /// let pool = gevent_hub::threadpool::ThreadPool::new(0);
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

    /// Runs `f` on a worker thread; returns at once with a handle whose
    /// [`get`](ThreadResult::get) waits (switching) for the outcome. A panic in `f` is
    /// caught and becomes the job's [`JobError`].
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = gevent_hub::threadpool::ThreadPool::new(1);
    /// let r = pool.spawn(|| std::thread::current().name().unwrap().to_owned());
    /// assert!(r.get().unwrap().starts_with("gevent-threadpool-"));
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn spawn<T, F>(&self, f: F) -> ThreadResult<T>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let remote = get_hub().remote();
        let hold = remote.hold();
        let slot: Arc<Mutex<Option<Result<T, JobError>>>> = Arc::new(Mutex::new(None));
        let local = Rc::new(Local::default());
        let id = PENDING.with(|p| p.borrow_mut().insert(local.clone()));
        let s2 = slot.clone();
        let job: Job = Box::new(move || {
            let r = panic::catch_unwind(AssertUnwindSafe(f)).map_err(JobError::new);
            *s2.lock() = Some(r);
            remote.run_callback(move || {
                drop(hold);
                complete(id);
            });
        });
        self.submit(job);
        ThreadResult { slot, local }
    }

    /// Runs `f` on a worker thread and waits for its result (gevent's `apply`).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = gevent_hub::threadpool::ThreadPool::new(1);
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
        match self.spawn(f).join() {
            Ok(v) => v,
            Err(e) => panic::resume_unwind(e.into_panic()),
        }
    }

    /// Runs `f` on every item, spread over the pool's threads, and returns the results in
    /// order (gevent's `map`).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = gevent_hub::threadpool::ThreadPool::new(3);
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
        let jobs: Vec<ThreadResult<T>> = items
            .into_iter()
            .map(|i| {
                let f = f.clone();
                self.spawn(move || f(i))
            })
            .collect();
        let outcomes: Vec<Result<T, JobError>> = jobs.into_iter().map(|j| j.join()).collect();
        let mut out = Vec::with_capacity(outcomes.len());
        let mut first_err = None;
        for o in outcomes {
            match o {
                Ok(v) => out.push(v),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        if let Some(e) = first_err {
            panic::resume_unwind(e.into_panic());
        }
        out
    }

    /// Queues a job and makes sure a thread will take it.
    fn submit(&self, job: Job) {
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
    /// The hub-side state of jobs submitted from this thread and not yet completed, by id.
    static PENDING: RefCell<Slab<Rc<Local>>> = const { RefCell::new(Slab::new()) };
    /// This thread's default pool.
    static DEFAULT: RefCell<Option<ThreadPool>> = const { RefCell::new(None) };
}

/// Runs in the submitting hub when a job is done: marks it ready and wakes its waiters.
fn complete(id: usize) {
    let l = PENDING.with(|p| p.borrow_mut().try_remove(id));
    if let Some(l) = l {
        l.ready.set(true);
        l.waiters.notify_all();
    }
}

/// The hub-side state of one job.
#[derive(Default)]
struct Local {
    /// Set (in the hub) when the outcome is in the slot.
    ready: Cell<bool>,
    /// Greenlets waiting for it.
    waiters: WaiterSet,
}

/// This thread's default pool (gevent's `get_hub().threadpool`), created on first use with
/// [`DEFAULT_MAXSIZE`] threads; the DNS resolver runs on it.
///
/// # Examples
///
/// ```
/// let n = gevent_hub::threadpool::default().apply(|| 1 + 1);
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

impl Hub {
    /// This hub's thread pool (gevent's `hub.threadpool`): the same as
    /// [`threadpool::default()`](default).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(gevent_hub::get_hub().threadpool().apply(|| 3), 3);
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn threadpool(&self) -> ThreadPool {
        default()
    }
}

/// The outcome of a job on the pool, waited for cooperatively (gevent returns an
/// `AsyncResult`). It is a [`Waitable`], so `wait`/`iwait`/`joinall` accept it. Dropping it
/// abandons the result (the job still runs).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let pool = gevent_hub::threadpool::ThreadPool::new(1);
/// let r = pool.spawn(|| { std::thread::sleep(Duration::from_millis(20)); 5 });
/// assert!(!r.ready());
/// assert_eq!(r.get_timeout(Duration::from_millis(1)), None);
/// assert_eq!(r.get().unwrap(), 5);
/// assert!(r.ready() && r.successful());
/// ```
pub struct ThreadResult<T> {
    /// Where the worker puts the outcome.
    slot: Arc<Mutex<Option<Result<T, JobError>>>>,
    /// Readiness and waiters, on this thread.
    local: Rc<Local>,
}

impl<T> ThreadResult<T> {
    /// Whether the outcome has arrived.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = gevent_hub::threadpool::ThreadPool::new(1);
    /// let r = pool.spawn(|| 1);
    /// r.wait(None);
    /// assert!(r.ready());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn ready(&self) -> bool {
        self.local.ready.get()
    }

    /// Whether the outcome has arrived and is a value.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = gevent_hub::threadpool::ThreadPool::new(1);
    /// let r = pool.spawn(|| 1);
    /// assert_eq!(r.get().unwrap(), 1);
    /// assert!(r.successful());
    /// ```
    ///
    /// # Switches
    ///
    /// Never.
    pub fn successful(&self) -> bool {
        self.ready() && matches!(*self.slot.lock(), Some(Ok(_)))
    }

    /// Waits for the outcome, or `timeout`; returns whether it arrived.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let pool = gevent_hub::threadpool::ThreadPool::new(1);
    /// let r = pool.spawn(|| std::thread::sleep(Duration::from_millis(20)));
    /// assert!(!r.wait(Some(Duration::from_millis(1))));
    /// assert!(r.wait(None));
    /// ```
    ///
    /// # Switches
    ///
    /// Yes, unless ready.
    ///
    /// # Kill safety
    ///
    /// Nothing is consumed.
    pub fn wait(&self, timeout: Option<Duration>) -> bool {
        wait_one(self, timeout)
    }

    /// Waits for the outcome and returns it (a clone; see [`join`](ThreadResult::join)).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = gevent_hub::threadpool::ThreadPool::new(1);
    /// let r = pool.spawn(|| String::from("done"));
    /// assert_eq!(r.get().unwrap(), "done");
    /// assert_eq!(r.get().unwrap(), "done"); // again
    /// ```
    ///
    /// # Errors
    ///
    /// The job's panic, as a [`JobError`].
    ///
    /// # Switches
    ///
    /// Yes, unless ready.
    ///
    /// # Kill safety
    ///
    /// Nothing is consumed: a later `get` still sees the outcome.
    pub fn get(&self) -> Result<T, JobError>
    where
        T: Clone,
    {
        wait_one(self, None);
        self.peek().expect("ready after waiting without a timeout")
    }

    /// [`get`](ThreadResult::get) with a time limit: `None` if the outcome did not arrive in
    /// time.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let pool = gevent_hub::threadpool::ThreadPool::new(1);
    /// let r = pool.spawn(|| { std::thread::sleep(Duration::from_millis(30)); 7 });
    /// assert_eq!(r.get_timeout(Duration::from_millis(1)), None);
    /// assert_eq!(r.get_timeout(Duration::from_secs(10)), Some(Ok(7)));
    /// ```
    ///
    /// # Switches
    ///
    /// Yes, unless ready.
    ///
    /// # Kill safety
    ///
    /// Nothing is consumed.
    pub fn get_timeout(&self, d: Duration) -> Option<Result<T, JobError>>
    where
        T: Clone,
    {
        if !wait_one(self, Some(d)) {
            return None;
        }
        self.peek()
    }

    /// Waits for the outcome and takes it (no `Clone` needed).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = gevent_hub::threadpool::ThreadPool::new(1);
    /// let v: Vec<u8> = pool.spawn(|| vec![1, 2]).join().unwrap();
    /// assert_eq!(v, [1, 2]);
    /// ```
    ///
    /// # Errors
    ///
    /// The job's panic, as a [`JobError`].
    ///
    /// # Switches
    ///
    /// Yes, unless ready.
    ///
    /// # Kill safety
    ///
    /// A kill while waiting drops the handle: the outcome is abandoned.
    pub fn join(self) -> Result<T, JobError> {
        wait_one(&self, None);
        self.slot
            .lock()
            .take()
            .expect("ready after waiting without a timeout")
    }

    /// The outcome, if it has arrived.
    fn peek(&self) -> Option<Result<T, JobError>>
    where
        T: Clone,
    {
        if !self.ready() {
            return None;
        }
        self.slot.lock().clone()
    }
}

impl<T> Waitable for ThreadResult<T> {
    fn ready(&self) -> bool {
        self.local.ready.get()
    }
    fn add_waiter(&self, notify: Notify) -> WaiterKey {
        self.local.waiters.add(notify)
    }
    fn remove_waiter(&self, key: WaiterKey) {
        self.local.waiters.remove(key)
    }
}

impl<T> fmt::Debug for ThreadResult<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadResult")
            .field("ready", &self.ready())
            .finish()
    }
}

/// A job that panicked: the panic, carried back to the submitting greenlet. Cheap to clone;
/// the payload itself can be taken back once.
///
/// # Examples
///
/// ```
/// let pool = gevent_hub::threadpool::ThreadPool::new(1);
/// # let prev = std::panic::take_hook(); std::panic::set_hook(Box::new(|_| {}));
/// let e = pool.spawn(|| -> u8 { panic!("bad input") }).join().unwrap_err();
/// # std::panic::set_hook(prev);
/// assert_eq!(e.message(), "bad input");
/// ```
#[derive(Clone)]
pub struct JobError {
    /// The panic's text.
    message: String,
    /// The payload, until someone takes it.
    payload: Arc<Mutex<Option<Panic>>>,
}

impl JobError {
    fn new(p: Box<dyn Any + Send>) -> JobError {
        JobError {
            message: panic_text(&*p),
            payload: Arc::new(Mutex::new(Some(p))),
        }
    }

    /// Whether the job panicked (always true: the only way a job fails).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = gevent_hub::threadpool::ThreadPool::new(1);
    /// # let prev = std::panic::take_hook(); std::panic::set_hook(Box::new(|_| {}));
    /// let e = pool.spawn(|| -> () { panic!("no") }).join().unwrap_err();
    /// # std::panic::set_hook(prev);
    /// assert!(e.is_panic());
    /// ```
    pub fn is_panic(&self) -> bool {
        true
    }

    /// The panic message.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = gevent_hub::threadpool::ThreadPool::new(1);
    /// # let prev = std::panic::take_hook(); std::panic::set_hook(Box::new(|_| {}));
    /// let e = pool.spawn(|| -> () { panic!("bad {}", 1) }).join().unwrap_err();
    /// # std::panic::set_hook(prev);
    /// assert_eq!(e.message(), "bad 1");
    /// ```
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The panic payload, to re-raise with `std::panic::resume_unwind`; later calls (on
    /// clones) get the message as a `String`.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = gevent_hub::threadpool::ThreadPool::new(1);
    /// # let prev = std::panic::take_hook(); std::panic::set_hook(Box::new(|_| {}));
    /// let e = pool.spawn(|| -> () { std::panic::panic_any(5u8) }).join().unwrap_err();
    /// # std::panic::set_hook(prev);
    /// assert_eq!(*e.into_panic().downcast::<u8>().unwrap(), 5);
    /// ```
    pub fn into_panic(self) -> Panic {
        self.payload
            .lock()
            .take()
            .unwrap_or_else(|| Box::new(self.message.clone()))
    }
}

impl fmt::Debug for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("JobError").field(&self.message).finish()
    }
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "thread pool job panicked: {}", self.message)
    }
}

impl std::error::Error for JobError {}

impl PartialEq for JobError {
    fn eq(&self, other: &JobError) -> bool {
        Arc::ptr_eq(&self.payload, &other.payload)
    }
}

/// Thread-safe handles are thread-safe.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<ThreadPool>();
    assert_send_sync::<JobError>();
};
