//! Transparent huge pages for the sorted-set skiplist's arrays (`cold`, blocks).
//!
//! A search or update touches random places of multi-megabyte arrays;
//! with 4 KiB pages most of those visits also miss the TLB, and under
//! virtualisation each TLB miss is a two-dimensional page walk.
//! `MADV_HUGEPAGE` lets the kernel back the memory with 2 MiB pages when it
//! is first touched (the usual THP setting is `madvise`: without the hint
//! it does not). The member hash index was tried too (through a hashbrown
//! allocator) with no measurable gain, so it keeps ordinary pages. It is
//! only a hint: a kernel without THP, or a failed call, changes speed, not
//! results.

/// Allocations smaller than this keep ordinary pages: a huge page is
/// 2 MiB, and a small set must not pin one.
pub(crate) const MIN_BYTES: usize = 4 << 20;

/// Asks for huge pages behind `len_bytes` bytes at `ptr`, if that is at
/// least [`MIN_BYTES`]. Call it before the memory is first written: pages
/// already touched keep their size.
pub(crate) fn advise(ptr: *const u8, len_bytes: usize) {
    if len_bytes < MIN_BYTES {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        const PAGE: usize = 4096;
        let start = ptr as usize;
        let aligned = start.saturating_add(PAGE - 1) & !(PAGE - 1);
        let len = start.saturating_add(len_bytes).saturating_sub(aligned) & !(PAGE - 1);
        // SAFETY: the page-aligned range lies inside the caller's live
        // allocation of `len_bytes` bytes at `ptr`; MADV_HUGEPAGE changes
        // neither contents nor mappings, only how later faults in the range
        // are served. The result is ignored on purpose (a hint).
        unsafe { libc::madvise(aligned as *mut libc::c_void, len, libc::MADV_HUGEPAGE) };
    }
    #[cfg(not(target_os = "linux"))]
    let _ = ptr;
}
