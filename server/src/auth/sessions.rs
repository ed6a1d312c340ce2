//! Signed-in sessions: random tokens that expire, end at sign-out, and tell the long
//! responses opened under them (the live stream) when they end.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use sightline_app::auth::Principal;
use tokio::sync::watch;

struct Session {
    principal: Principal,
    expires: Instant,
    /// Dropped when the session ends: every [`SessionEnd`] of it resolves.
    alive: watch::Sender<()>,
}

/// Resolves when the session a request was made under ends (sign-out or expiry). Put in
/// the request's extensions by the guard for cookie sessions.
#[derive(Clone, Debug)]
pub struct SessionEnd {
    alive: watch::Receiver<()>,
    expires: Instant,
}

impl SessionEnd {
    pub async fn ended(mut self) {
        let expiry = tokio::time::sleep_until(self.expires.into());
        tokio::select! {
            () = expiry => {}
            // `changed` fails only once the sender is gone; nothing is ever sent.
            _ = async { while self.alive.changed().await.is_ok() {} } => {}
        }
    }
}

#[derive(Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.map.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn start(&self, principal: Principal, ttl: Duration) -> String {
        let token = super::random_token();
        let now = Instant::now();
        let mut map = self.map();
        map.retain(|_, s| s.expires > now);
        map.insert(
            token.clone(),
            Session {
                principal,
                expires: now + ttl,
                alive: watch::channel(()).0,
            },
        );
        token
    }

    pub fn get(&self, token: &str) -> Option<(Principal, SessionEnd)> {
        let mut map = self.map();
        let session = map.get(token)?;
        if session.expires <= Instant::now() {
            map.remove(token);
            return None;
        }
        Some((
            session.principal.clone(),
            SessionEnd {
                alive: session.alive.subscribe(),
                expires: session.expires,
            },
        ))
    }

    pub fn end(&self, token: &str) {
        self.map().remove(token);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sightline_app::auth::Role;

    #[tokio::test]
    async fn ending_or_expiring_resolves_every_watcher() {
        let sessions = Sessions::default();
        let ann = Principal {
            name: "ann".into(),
            role: Role::Admin,
            open: false,
        };
        let token = sessions.start(ann.clone(), Duration::from_secs(600));
        let (principal, end) = sessions.get(&token).unwrap();
        assert_eq!(principal, ann);
        let watcher = tokio::spawn(end.ended());
        tokio::task::yield_now().await;
        assert!(!watcher.is_finished());
        sessions.end(&token);
        tokio::time::timeout(Duration::from_secs(1), watcher)
            .await
            .expect("sign-out ends the session's streams")
            .unwrap();
        assert!(sessions.get(&token).is_none());

        let token = sessions.start(ann, Duration::from_millis(50));
        let (_, end) = sessions.get(&token).unwrap();
        tokio::time::timeout(Duration::from_secs(1), end.ended())
            .await
            .expect("expiry ends the session's streams");
    }
}
