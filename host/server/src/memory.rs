//! The memory budget of plugin instances (`limits.plugin_memory_mib`).
//!
//! Every conversion, streaming or bulk, runs one plugin instance per worker,
//! and each instance may grow to its plugin's memory limit. Before a
//! conversion starts it reserves that limit for each of its instances; the
//! reservation is given back when it ends. With many conversions at once
//! the server therefore runs fewer workers each, then makes new work wait
//! (jobs) or answers 503 `memory-busy` (streaming conversions), and never
//! runs out of memory because of what plugins may allocate.

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// What is reserved of the budget.
#[derive(Debug)]
pub(crate) struct MemoryBudget {
    total_mib: u64,
    used_mib: Mutex<u64>,
    freed: Condvar,
}

/// Memory reserved for one conversion's instances; given back when dropped.
#[derive(Debug)]
pub(crate) struct Reservation {
    budget: Arc<MemoryBudget>,
    mib: u64,
    /// How many instances (workers) the conversion may run.
    pub instances: usize,
}

impl MemoryBudget {
    /// A budget of `total_mib`, or for 0 half of the machine's memory but
    /// at least `at_least_mib` (one instance of the largest plugin).
    pub(crate) fn new(total_mib: u64, at_least_mib: u64) -> Arc<MemoryBudget> {
        let total_mib = if total_mib > 0 {
            total_mib
        } else {
            (physical_memory_mib() / 2).max(at_least_mib)
        };
        Arc::new(MemoryBudget {
            total_mib,
            used_mib: Mutex::new(0),
            freed: Condvar::new(),
        })
    }

    /// The whole budget, in MiB.
    pub(crate) fn total_mib(&self) -> u64 {
        self.total_mib
    }

    /// Reserves room for up to `wanted` instances of `per_instance_mib`
    /// each, as many as fit now; `None` when not even one does.
    pub(crate) fn try_reserve(
        self: &Arc<Self>,
        per_instance_mib: u64,
        wanted: usize,
    ) -> Option<Reservation> {
        let per_instance_mib = per_instance_mib.max(1);
        let mut used = self.used_mib.lock().expect("not poisoned");
        let room = self.total_mib.saturating_sub(*used) / per_instance_mib;
        let instances = (wanted.max(1) as u64).min(room);
        if instances == 0 {
            return None;
        }
        let mib = instances * per_instance_mib;
        *used += mib;
        Some(Reservation {
            budget: self.clone(),
            mib,
            instances: instances as usize,
        })
    }

    /// Waits until one instance of `per_instance_mib` fits, or `patience`
    /// has passed.
    pub(crate) fn wait_for_room(&self, per_instance_mib: u64, patience: Duration) {
        let used = self.used_mib.lock().expect("not poisoned");
        let _ = self
            .freed
            .wait_timeout_while(used, patience, |used| {
                self.total_mib.saturating_sub(*used) < per_instance_mib
            })
            .expect("not poisoned");
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        let mut used = self.budget.used_mib.lock().expect("not poisoned");
        *used = used.saturating_sub(self.mib);
        self.budget.freed.notify_all();
    }
}

/// The machine's memory, in MiB (1 GiB if it cannot be read).
fn physical_memory_mib() -> u64 {
    // SAFETY: sysconf only reads system constants.
    let (pages, page_size) = unsafe {
        (
            libc::sysconf(libc::_SC_PHYS_PAGES),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    if pages <= 0 || page_size <= 0 {
        return 1024;
    }
    (pages as u64).saturating_mul(page_size as u64) >> 20
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn conversions_get_fewer_instances_then_none_until_memory_is_given_back() {
        let budget = MemoryBudget::new(256, 0);
        let first = budget.try_reserve(64, 3).unwrap();
        assert_eq!(first.instances, 3);
        let second = budget.try_reserve(64, 3).unwrap();
        assert_eq!(second.instances, 1, "what is left");
        assert!(budget.try_reserve(64, 1).is_none());
        let waiting = {
            let budget = budget.clone();
            std::thread::spawn(move || {
                let started = Instant::now();
                budget.wait_for_room(64, Duration::from_secs(10));
                started.elapsed()
            })
        };
        std::thread::sleep(Duration::from_millis(100));
        drop(first);
        assert!(waiting.join().unwrap() < Duration::from_secs(5));
        assert_eq!(budget.try_reserve(64, 2).unwrap().instances, 2);
        drop(second);
        assert!(MemoryBudget::new(0, 1).total_mib() > 0);
    }
}
