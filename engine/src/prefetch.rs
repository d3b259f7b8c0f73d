//! A cache-line prefetch hint, for loops that know an address well before
//! they read it (a search's next block, the next entries of a sorted walk).

/// Hints the CPU to load the cache line of `item`; no effect on results.
#[inline(always)]
pub(crate) fn prefetch<T: ?Sized>(item: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE is part of the x86_64 baseline, so the instruction exists;
    // a prefetch never faults and reads nothing observable, and the address
    // is that of a live reference.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>((item as *const T).cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = item;
}
