//! What went wrong in the history store, counted since start: failed writes, windows
//! given up, records not kept, stored rows that could not be read. The live snapshot,
//! the Settings page and `GET {path}/api/settings` show it.

use std::sync::atomic::Ordering;

use sightline_app::snapshot::StoreHealth;

use super::{Shared, Store, lock};

impl Shared {
    /// A record not stored because its route had used its quota for the window.
    pub(super) fn note_capped(&self) {
        self.records_capped.fetch_add(1, Ordering::Relaxed);
    }

    /// Stored rows skipped because they did not decode.
    pub(super) fn note_skipped(&self, rows: u64) {
        if rows > 0 {
            self.rows_skipped.fetch_add(rows, Ordering::Relaxed);
        }
    }
}

impl Store {
    pub fn health(&self) -> StoreHealth {
        let s = &self.shared;
        let last_error = s.last_write_error_ms.load(Ordering::Relaxed);
        StoreHealth {
            enabled: true,
            write_error: lock(&s.write_error).clone(),
            last_write_error_ms: (last_error > 0).then_some(last_error),
            windows_lost: s.lost_windows.load(Ordering::Relaxed),
            windows_queued: s.queued_windows.load(Ordering::Relaxed),
            records_dropped: self.details.dropped(),
            records_capped: s.records_capped.load(Ordering::Relaxed),
            rows_skipped: s.rows_skipped.load(Ordering::Relaxed),
        }
    }
}
