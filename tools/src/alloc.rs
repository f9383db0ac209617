//! The `mia` binary's counting allocator: mimalloc wrapped in
//! [`mia_runtime::alloc_count::CountingAlloc`] (enabled by the `count-alloc` feature).

/// mimalloc with allocation counters.
pub type CountingAlloc = mia_runtime::alloc_count::CountingAlloc<mimalloc::MiMalloc>;

/// A counting mimalloc (a `const` initialiser for a `#[global_allocator]` static).
pub const fn counting_mimalloc() -> CountingAlloc {
    CountingAlloc::new(mimalloc::MiMalloc)
}
