//! A counting global allocator around mimalloc, used to prove that the hot path allocates
//! nothing after warm-up. The counter is a relaxed atomic: one uncontended `fetch_add` per
//! allocation, and nothing at all on the zero-allocation path it is there to prove.

use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicU64, Ordering};

/// mimalloc with an allocation counter.
pub struct CountingAlloc {
    inner: mimalloc::MiMalloc,
    count: AtomicU64,
}

impl CountingAlloc {
    /// A counter starting at zero.
    pub const fn new() -> Self {
        Self { inner: mimalloc::MiMalloc, count: AtomicU64::new(0) }
    }

    /// Allocations (including reallocations) so far, all threads.
    pub fn allocations(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }
}

impl Default for CountingAlloc {
    fn default() -> Self {
        Self::new()
    }
}

// SAFETY: every method forwards to mimalloc's `GlobalAlloc` implementation with the caller's
// arguments unchanged; the counter has no effect on the memory returned.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.count.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded with the caller's contract.
        unsafe { self.inner.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `inner` with `layout` (we forward every allocation).
        unsafe { self.inner.dealloc(ptr, layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        self.count.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded with the caller's contract.
        unsafe { self.inner.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        self.count.fetch_add(1, Ordering::Relaxed);
        // SAFETY: `ptr`/`layout` come from `inner`; forwarded unchanged.
        unsafe { self.inner.realloc(ptr, layout, new_size) }
    }
}
