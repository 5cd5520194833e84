//! Runs the examples of the synchronisation crates (`Event`, `AsyncResult`,
//! `BoundedSemaphore`, greenlet-local storage, `Timeout`) and checks their exact output.
//!
//! The examples are built and run by `tests/support`.

mod support;

use support::run;

#[test]
fn gevent_event() {
    assert_eq!(
        run("gevent_event", &[]),
        "A: Hey wait for me, I have to do something
I'll wait for you
I'll wait for you
I'll wait for you
I'll wait for you
I'll wait for you
Ok, I'm done
It's about time
It's about time
It's about time
It's about time
It's about time
"
    );
}

#[test]
fn gevent_async_result() {
    assert_eq!(
        run("gevent_async_result", &[]),
        "Hello!
Hello!
set once: ready=true successful=true
the job's result: Ok(42)
"
    );
}

#[test]
fn gevent_bounded_semaphore() {
    assert_eq!(
        run("gevent_bounded_semaphore", &[]),
        "Worker 0 acquired semaphore
Worker 1 acquired semaphore
Worker 0 released semaphore
Worker 1 released semaphore
Worker 3 acquired semaphore
Worker 4 acquired semaphore
Worker 3 released semaphore
Worker 4 released semaphore
Worker 5 acquired semaphore
Worker 5 released semaphore
counter: 2
one release too many: semaphore released too many times (bound 2)
"
    );
}

#[test]
fn gevent_local() {
    assert_eq!(
        run("gevent_local", &[]),
        "1
2
x is not local to f2
f2 visited: [\"f2\"]
main: x=None y=None visited=[]
"
    );
}

#[test]
fn gevent_timeout() {
    assert_eq!(
        run("gevent_timeout", &[]),
        "Could not complete
with Timeout(time_to_wait, TooLong): Err(TooLong)
Thread 1 timed out (timed out after 100ms)
Thread 2 timed out
Thread 3 timed out
in time: Ok(42)
"
    );
}
