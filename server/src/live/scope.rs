//! In a cluster, snapshots come in scopes: every instance added up, and each instance on
//! its own. A client narrowed to one instance (`?instance=`) gets only that one's.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError};

use sightline_app::snapshot::DashboardSnapshot;

use super::frame;
use super::hub::{Frame, Hub, Latest};

/// The clients a frame is for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Scope {
    /// Everyone: events, heartbeats, a single instance's snapshots.
    #[default]
    Any,
    /// Clients watching the whole cluster.
    All,
    /// Clients narrowed to one instance.
    Instance(Arc<str>),
}

impl Scope {
    /// Whether a client narrowed to `instance` (`None`: the whole cluster) gets the frame.
    pub fn admits(&self, instance: Option<&str>) -> bool {
        match self {
            Self::Any => true,
            Self::All => instance.is_none(),
            Self::Instance(id) => instance == Some(&**id),
        }
    }
}

impl Hub {
    /// A cluster's snapshots: all instances added up, and each instance's own. Their id is
    /// the last custom event's (none before any), so a client's `Last-Event-ID` is always
    /// a place in the events, valid on every instance.
    pub fn publish_cluster(&self, all: DashboardSnapshot, each: Vec<(String, DashboardSnapshot)>) {
        let shown = self.last_shown.load(std::sync::atomic::Ordering::Relaxed);
        let shown = (shown > 0).then_some(shown);
        let latest = |snapshot: DashboardSnapshot, scope: Scope| {
            let json: Arc<str> = serde_json::to_string(&snapshot)
                .expect("a snapshot always serialises")
                .into();
            let frame = Frame {
                id: None,
                bytes: frame::event(shown, Some("snapshot"), &json),
                custom: None,
                scope,
            };
            Arc::new(Latest {
                snapshot,
                json,
                frame,
            })
        };
        let each: HashMap<Arc<str>, Arc<Latest>> = each
            .into_iter()
            .map(|(id, snapshot)| {
                let id: Arc<str> = id.into();
                (id.clone(), latest(snapshot, Scope::Instance(id)))
            })
            .collect();
        let all = latest(all, Scope::All);
        let _order = self.replay();
        self.latest.store(Some(all.clone()));
        self.latest_each.store(Arc::new(each.clone()));
        let _ = self.tx.send(all.frame.clone());
        // Only the instances someone watches: a cluster of many would otherwise fill
        // every client's ring each period.
        let watched = self.watched.lock().unwrap_or_else(PoisonError::into_inner);
        for (id, one) in &each {
            if watched.contains_key(id) {
                let _ = self.tx.send(one.frame.clone());
            }
        }
    }

    /// Counts a client narrowed to `instance` in (`true`) or out.
    pub(super) fn watch(&self, instance: &Arc<str>, on: bool) {
        let mut watched = self.watched.lock().unwrap_or_else(PoisonError::into_inner);
        if on {
            *watched.entry(instance.clone()).or_default() += 1;
        } else if let Some(n) = watched.get_mut(instance) {
            *n -= 1;
            if *n == 0 {
                watched.remove(instance);
            }
        }
    }

    /// The latest snapshot for clients narrowed to `instance` (`None`: everyone). An
    /// instance this hub has no snapshot of has none.
    pub fn latest_for(&self, instance: Option<&str>) -> Option<Arc<Latest>> {
        match instance {
            None => self.latest(),
            Some(id) => self.latest_each.load().get(id).cloned(),
        }
    }
}
