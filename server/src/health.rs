//! `GET {path}/api/health`: whether this instance is whole, for load balancers and
//! probes. Public on purpose (a probe cannot sign in), so it says only "ok" or
//! "degraded" per part, never why: the reasons are on the dashboard, behind the sign-in.
//!
//! `200` when every part that is on works; `503` when one is degraded (the cluster link
//! lost Redis, or history writes are failing).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::cluster::Cluster;
use crate::store::Store;

#[derive(Clone, Debug)]
pub struct HealthState {
    pub cluster: Option<Arc<Cluster>>,
    pub store: Option<Arc<Store>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Check {
    Ok,
    Degraded,
    Off,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub status: Check,
    pub cluster: Check,
    pub history: Check,
}

impl HealthState {
    pub fn report(&self) -> Report {
        let cluster = match &self.cluster {
            None => Check::Off,
            Some(c) if c.health.report().connected => Check::Ok,
            Some(_) => Check::Degraded,
        };
        let history = match &self.store {
            None => Check::Off,
            Some(s) if s.health().write_error.is_none() => Check::Ok,
            Some(_) => Check::Degraded,
        };
        let status = if [cluster, history].contains(&Check::Degraded) {
            Check::Degraded
        } else {
            Check::Ok
        };
        Report {
            status,
            cluster,
            history,
        }
    }
}

pub async fn health(State(state): State<HealthState>) -> Response {
    let report = state.report();
    let status = match report.status {
        Check::Degraded => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::OK,
    };
    (status, [("cache-control", "no-store")], Json(report)).into_response()
}
