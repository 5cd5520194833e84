//! Cooperative child processes (gevent's `gevent.subprocess`).
