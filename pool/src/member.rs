//! What a group keeps for each member: a type-erased greenlet.

use std::any::Any;
use std::cell::Cell;
use std::rc::Rc;

use gevent_hub::{Greenlet, KillOptions, LinkId, Waitable};

/// A member of a group, whatever its greenlet's output type. Waiting on it (as a
/// [`Waitable`]) waits for its greenlet to die.
pub(crate) trait Member: Waitable {
    /// Kills the greenlet without waiting for it.
    fn kill_nowait(&self);
    /// Whether the greenlet is the one running now.
    fn is_current(&self) -> bool;
    /// Whether `g` (a `&Greenlet<T>` of any `T`) is this member's greenlet.
    fn same(&self, g: &dyn Any) -> bool;
    /// Removes a link from the greenlet.
    fn unlink(&self, id: LinkId);
    /// Called (in the hub) when the group has removed the dead member.
    fn on_removed(&self) {}
}

impl<T: 'static> Member for Greenlet<T> {
    fn kill_nowait(&self) {
        self.kill_with(KillOptions {
            block: false,
            timeout: None,
        });
    }

    fn is_current(&self) -> bool {
        self.raw().is_some_and(|r| r.is_current())
    }

    fn same(&self, g: &dyn Any) -> bool {
        g.downcast_ref::<Greenlet<T>>().is_some_and(|g| g == self)
    }

    fn unlink(&self, id: LinkId) {
        Greenlet::unlink(self, id)
    }
}

/// One member in a group's table.
pub(crate) struct Entry {
    /// Tells this membership from a later one under the same slab key.
    pub(crate) id: u64,
    /// The greenlet.
    pub(crate) member: Rc<dyn Member>,
    /// The rawlink that removes it when it dies (unlinked by `discard`).
    pub(crate) link: Cell<Option<LinkId>>,
    /// Whether the group already killed it (so `kill` does not kill it twice).
    pub(crate) dying: Cell<bool>,
}
