//! A counting global allocator, to prove "no allocation per event" in tests: it wraps any
//! allocator (mimalloc in the `mia` binary, `System` in crate tests) and counts allocations
//! and reallocations, process-wide and per thread. Counting costs one relaxed atomic add and
//! one thread-local add per allocation, and nothing on the zero-allocation path it proves.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

thread_local! {
    /// Allocations made by the current thread (const-initialised: touching it never allocates).
    static THREAD_ALLOCS: Cell<u64> = const { Cell::new(0) };
}

/// `A` with allocation counters.
pub struct CountingAlloc<A> {
    inner: A,
    count: AtomicU64,
}

impl<A> CountingAlloc<A> {
    /// Wraps `inner`; counters start at zero.
    pub const fn new(inner: A) -> Self {
        Self { inner, count: AtomicU64::new(0) }
    }

    /// Allocations (including reallocations) so far, all threads.
    pub fn allocations(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// Allocations (including reallocations) made so far by the calling thread.
    pub fn thread_allocations(&self) -> u64 {
        THREAD_ALLOCS.with(Cell::get)
    }

    /// Runs `f` and returns the allocations the calling thread made during it.
    pub fn count_during<R>(&self, f: impl FnOnce() -> R) -> (u64, R) {
        let before = self.thread_allocations();
        let r = f();
        (self.thread_allocations() - before, r)
    }

    #[inline]
    fn bump(&self) {
        self.count.fetch_add(1, Ordering::Relaxed);
        // `try_with`: during thread teardown the slot may be gone; the global count still counts.
        let _ = THREAD_ALLOCS.try_with(|c| c.set(c.get() + 1));
    }
}

// SAFETY: every method forwards to `inner`'s `GlobalAlloc` implementation with the caller's
// arguments unchanged, so the contract is `inner`'s; the counters neither allocate nor unwind
// and have no effect on the memory returned.
unsafe impl<A: GlobalAlloc> GlobalAlloc for CountingAlloc<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.bump();
        // SAFETY: forwarded with the caller's layout contract.
        unsafe { self.inner.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `inner` with `layout` (every allocation is forwarded).
        unsafe { self.inner.dealloc(ptr, layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        self.bump();
        // SAFETY: forwarded with the caller's layout contract.
        unsafe { self.inner.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        self.bump();
        // SAFETY: `ptr`/`layout` come from `inner`; forwarded unchanged.
        unsafe { self.inner.realloc(ptr, layout, new_size) }
    }
}
