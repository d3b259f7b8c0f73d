//! Running the active expiry cycle on demand.

use crate::args;
use crate::db::{kv_db, with_db};
use crate::status::kv_status;

/// What one active expiry cycle did, filled by `kv_db_run_expiry_cycle`.
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Debug, Default, Clone, Copy)]
pub struct kv_expiry_cycle_report {
    /// Samples taken (of up to 20 keys with a TTL each).
    pub samples: u64,
    /// Keys with a TTL looked at.
    pub sampled_keys: u64,
    /// Expired keys purged.
    pub expired_keys: u64,
    /// Whether the cycle stopped because its time budget
    /// (`kv_options_set_active_expiry_budget_ms`) ran out.
    pub budget_exhausted: bool,
}

/// Runs one active expiry cycle now (what the background thread does every
/// `active_expiry_interval_ms`, Redis's `activeExpireCycle`): samples keys
/// with a TTL and purges the expired ones, repeating while more than 25% of
/// a sample was expired, within the time budget. Useful with active expiry
/// turned off. `*out_report` (may be NULL) receives what it did.
///
/// Returns `KV_OK`; `KV_IO`; `KV_POISONED`; `KV_CLOSED`;
/// `KV_INVALID_ARGUMENT` for a NULL `db`.
///
/// # Safety
///
/// `db` NULL or live; `out_report` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn kv_db_run_expiry_cycle(db: *mut kv_db, out_report: *mut kv_expiry_cycle_report) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        let mut out = unsafe { args::out_opt(out_report) };
        if let Some(o) = out.as_deref_mut() {
            *o = kv_expiry_cycle_report::default();
        }
        // SAFETY: forwarded contract.
        let r = unsafe { with_db(db, |d| Ok(d.run_expiry_cycle()?)) }?;
        if let Some(o) = out {
            *o = kv_expiry_cycle_report {
                samples: r.samples,
                sampled_keys: r.sampled_keys,
                expired_keys: r.expired_keys,
                budget_exhausted: r.budget_exhausted,
            };
        }
        Ok(())
    }
}
