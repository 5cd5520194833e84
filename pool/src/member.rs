//! What a group keeps for each member: a type-erased greenlet.

use std::any::Any;
use std::cell::Cell;
use std::rc::{Rc, Weak};

use gevent_hub::{Greenlet, KillOptions, LinkId, Waitable};

use crate::group::Core;

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
    /// Called once the group has removed the member because its function ended (`returned`
    /// tells whether it returned, rather than unwound or never ran).
    fn on_removed(self: Rc<Self>, returned: bool) {
        let _ = returned;
    }
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

/// Removes a member from its group when dropped: captured by the function of a greenlet the
/// group spawns itself, so it drops when the function returns, unwinds (a panic, a kill), or
/// is discarded unrun (killed before it ran). This replaces a rawlink for those greenlets,
/// and costs no allocation.
pub(crate) struct Leave {
    /// The group (weak: a running member does not keep its group alive).
    pub(crate) core: Weak<Core>,
    /// The member's slab key.
    pub(crate) key: usize,
    /// The membership id (the key may be reused after a `discard`).
    pub(crate) id: u64,
    /// Whether the function returned.
    pub(crate) returned: bool,
}

impl Drop for Leave {
    fn drop(&mut self) {
        if let Some(core) = self.core.upgrade() {
            if let Some(e) = core.forget(self.key, Some(self.id)) {
                e.member.on_removed(self.returned);
            }
        }
    }
}

/// One member in a group's table.
pub(crate) struct Entry {
    /// Tells this membership from a later one under the same slab key.
    pub(crate) id: u64,
    /// The greenlet.
    pub(crate) member: Rc<dyn Member>,
    /// The rawlink that removes it when it dies (unlinked by `discard`); `None` for the
    /// greenlets the group spawned, which leave through a [`Leave`] guard.
    pub(crate) link: Cell<Option<LinkId>>,
    /// Whether the group already killed it (so `kill` does not kill it twice).
    pub(crate) dying: Cell<bool>,
}
