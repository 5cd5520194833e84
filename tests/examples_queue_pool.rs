//! Runs the queue and pool examples of `examples/` and checks their exact output (the seed
//! snippets for `gevent::queue` and `gevent::pool`), as `tests/examples.rs` does for the
//! others.
//!
//! The examples are built once with the cargo that runs these tests, in the same profile and
//! target directory, then run from `<target>/<profile>/examples/`.

mod support;

use support::run;

#[test]
fn queue_workers() {
    assert_eq!(
        run("queue_workers", &[]),
        "\
Boss put 1
Boss put 2
Boss put 3
Boss put 4
Boss put 5
Boss put 6
Boss put 7
Boss put 8
Boss put 9
Boss put 10
Boss put 11
Boss put 12
Boss put 13
Boss put 14
Boss put 15
Boss put 16
Boss put 17
Boss put 18
Boss put 19
Boss put 20
Boss put 21
Boss put 22
Boss put 23
Boss put 24
Worker steve got task 1
Worker john got task 2
Worker nancy got task 3
Worker steve got task 4
Worker john got task 5
Worker nancy got task 6
Worker steve got task 7
Worker john got task 8
Worker nancy got task 9
Worker steve got task 10
Worker john got task 11
Worker nancy got task 12
Worker steve got task 13
Worker john got task 14
Worker nancy got task 15
Worker steve got task 16
Worker john got task 17
Worker nancy got task 18
Worker steve got task 19
Worker john got task 20
Worker nancy got task 21
Worker steve got task 22
Worker john got task 23
Worker nancy got task 24
Quitting time!
Quitting time!
Quitting time!
"
    );
}

#[test]
fn queue_bounded() {
    assert_eq!(
        run("queue_bounded", &[]),
        "\
Worker steve got task 1
Worker john got task 2
Worker bob got task 3
Worker steve got task 4
Worker john got task 5
Worker bob got task 6
Assigned all work in iteration 1
Worker steve got task 7
Worker john got task 8
Worker bob got task 9
Worker steve got task 10
Worker john got task 11
Worker bob got task 12
Worker steve got task 13
Worker john got task 14
Worker bob got task 15
Worker steve got task 16
Worker john got task 17
Worker bob got task 18
Assigned all work in iteration 2
Worker steve got task 19
Quitting time!
Quitting time!
Quitting time!
"
    );
}

#[test]
fn pool_imap_unordered() {
    assert_eq!(
        run("pool_imap_unordered", &[]),
        "\
imap_unordered: [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]
imap:           [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
map:            [0, 1, 4, 9, 16, 25, 36, 49, 64, 81]
pool empty again: true
"
    );
}

#[test]
fn pool_group() {
    assert_eq!(
        run("pool_group", &[]),
        "\
Size of group 3
Hello from greenlet 0
Size of group 2
Hello from greenlet 1
Size of group 1
Hello from greenlet 2
Ordered
(\"task\", 0)
(\"task\", 1)
(\"task\", 2)
Unordered
(\"task\", 2)
(\"task\", 1)
(\"task\", 0)
"
    );
}

#[test]
fn pool_size() {
    assert_eq!(
        run("pool_size", &[]),
        "\
Size of pool 2
Size of pool 1
Size of pool 1
spawning job 0: len 0 full false free 2
spawning job 1: len 1 full false free 1
spawning job 2: len 2 full true free 0
job 0 done
after spawning: len 2
job 1 done
wait_available: 1 free
job 2 done
joined: len 0 free 2
"
    );
}

#[test]
fn pool_methods() {
    assert_eq!(
        run("pool_methods", &[]),
        "\
add: len 1, free 2, a started: false
start: len 2, contains b: true
spawn: len 3, full: true
wait_available_timeout(5 ms): 0 free
discard: len 2, free 1, contains c: false, c dead: false
killone: b dead: true
join: len 0, a dead: true
wait_available: 3 free
listeners: 10, full: false
after kill: 0
"
    );
}
