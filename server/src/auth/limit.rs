//! The sign-in limit: failed attempts per client address (IPv6 per /64) and per account,
//! counted *before* the password is checked, and a bound on concurrent password checks.
//!
//! An attempt is reserved against every key it touches before Argon2 runs, so any number
//! of parallel guesses gets at most [`LIMIT_FAILURES`] through; a correct password gives
//! back only its own reservation (a success on one account does not clear another's
//! failures). How many password checks run at once is bounded apart from this (see
//! `verify`), so a flood of sign-ins exhausts neither memory nor every core.
//!
//! Rate-limiter crates (`governor`) consume cells that cannot be handed back, and "undo on
//! success" is the point here, so this is a small sliding window of instants per key.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Failed sign-ins allowed per key within [`LIMIT_WINDOW`].
pub const LIMIT_FAILURES: usize = 5;
pub const LIMIT_WINDOW: Duration = Duration::from_secs(300);
/// Keys tracked at most; past it (after dropping expired ones) the address seen least
/// recently is forgotten, so an attacker spraying addresses cannot grow memory without
/// bound nor lock anyone else out. Names that are no account share one key.
const MAX_KEYS: usize = 50_000;
/// Account names are counted by at most this many bytes.
const MAX_NAME: usize = 128;

/// What attempts are counted by.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Key {
    /// An IPv4 address, or the /64 network of an IPv6 address.
    Address(IpAddr),
    Account(String),
    /// Every name that is no account: guessing names counts, but cannot fill the table.
    NoSuchAccount,
}

impl Key {
    pub fn address(ip: IpAddr) -> Self {
        Self::Address(match ip {
            IpAddr::V4(_) => ip,
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => {
                    let s = v6.segments();
                    IpAddr::from([s[0], s[1], s[2], s[3], 0, 0, 0, 0])
                }
            },
        })
    }

    pub fn account(name: &str) -> Self {
        let mut end = name.len().min(MAX_NAME);
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        Self::Account(name[..end].to_owned())
    }
}

/// An attempt counted against its keys; [`Limiter::succeeded`] gives it back.
#[derive(Debug)]
pub struct Reservation {
    keys: Vec<Key>,
    at: Instant,
}

#[derive(Debug, Default)]
pub struct Limiter {
    attempts: Mutex<HashMap<Key, VecDeque<Instant>>>,
}

impl Limiter {
    /// Counts an attempt against every key, or `Err(seconds to wait)` if any key has used
    /// up its attempts (then nothing is counted).
    pub fn reserve(&self, keys: Vec<Key>, now: Instant) -> Result<Reservation, u64> {
        let mut attempts = self.attempts.lock().unwrap_or_else(PoisonError::into_inner);
        let mut wait = 0;
        for key in &keys {
            if let Some(times) = attempts.get_mut(key) {
                expire(times, now);
                if times.len() >= LIMIT_FAILURES {
                    let oldest = *times.front().expect("at the limit, so not empty");
                    let left = LIMIT_WINDOW.saturating_sub(now.duration_since(oldest));
                    wait = wait.max(left.as_secs().max(1));
                }
            }
        }
        if wait > 0 {
            return Err(wait);
        }
        if attempts.len() + keys.len() > MAX_KEYS {
            attempts.retain(|_, times| {
                expire(times, now);
                !times.is_empty()
            });
            while attempts.len() + keys.len() > MAX_KEYS {
                let stalest = attempts
                    .iter()
                    .filter(|(key, _)| matches!(key, Key::Address(_)))
                    .min_by_key(|(_, times)| times.back().copied())
                    .map(|(key, _)| key.clone());
                match stalest {
                    Some(key) => attempts.remove(&key),
                    None => break,
                };
            }
        }
        for key in &keys {
            attempts.entry(key.clone()).or_default().push_back(now);
        }
        Ok(Reservation { keys, at: now })
    }

    /// The password was right: the attempt no longer counts against its keys.
    pub fn succeeded(&self, reservation: Reservation) {
        let mut attempts = self.attempts.lock().unwrap_or_else(PoisonError::into_inner);
        for key in reservation.keys {
            if let Some(times) = attempts.get_mut(&key) {
                if let Some(i) = times.iter().rposition(|t| *t == reservation.at) {
                    times.remove(i);
                }
                if times.is_empty() {
                    attempts.remove(&key);
                }
            }
        }
    }
}

fn expire(times: &mut VecDeque<Instant>, now: Instant) {
    while times
        .front()
        .is_some_and(|t| now.duration_since(*t) >= LIMIT_WINDOW)
    {
        times.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_counts_per_64_and_mapped_ipv4_as_ipv4() {
        let a = Key::address("2001:db8:1:2:aaaa::1".parse().unwrap());
        let b = Key::address("2001:db8:1:2:bbbb::9".parse().unwrap());
        let c = Key::address("2001:db8:1:3::1".parse().unwrap());
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(
            Key::address("::ffff:192.0.2.7".parse().unwrap()),
            Key::address("192.0.2.7".parse().unwrap())
        );
    }

    #[test]
    fn attempts_count_before_checking_and_success_gives_back_only_its_own() {
        let limiter = Limiter::default();
        let now = Instant::now();
        let ip = Key::address("10.0.0.1".parse().unwrap());
        let keys = |name: &str| vec![ip.clone(), Key::account(name)];
        // Four failures on "ann" from this address.
        for _ in 0..4 {
            limiter.reserve(keys("ann"), now).unwrap();
        }
        // A success on "bob" gives back bob's attempt, not ann's failures.
        let ok = limiter.reserve(keys("bob"), now).unwrap();
        limiter.succeeded(ok);
        limiter.reserve(keys("ann"), now).unwrap();
        let wait = limiter.reserve(keys("bob"), now).unwrap_err();
        assert!((1..=300).contains(&wait));
        // Another address still may not try ann: the account is at its limit too.
        let other = vec![
            Key::address("10.9.9.9".parse().unwrap()),
            Key::account("ann"),
        ];
        assert!(limiter.reserve(other, now).is_err());
        // The window slides.
        let later = now + LIMIT_WINDOW;
        assert!(limiter.reserve(keys("ann"), later).is_ok());
    }

    #[test]
    fn a_full_table_forgets_the_stalest_address_and_refuses_nobody() {
        let limiter = Limiter::default();
        let now = Instant::now();
        for n in 0..MAX_KEYS as u32 {
            let ip = IpAddr::from((n + 1).to_be_bytes());
            limiter.reserve(vec![Key::address(ip)], now).unwrap();
        }
        let later = now + std::time::Duration::from_secs(1);
        let newcomer = vec![
            Key::address("203.0.113.1".parse().unwrap()),
            Key::account("ann"),
        ];
        assert!(limiter.reserve(newcomer, later).is_ok());
        let attempts = limiter.attempts.lock().unwrap();
        assert!(attempts.len() <= MAX_KEYS);
        assert!(attempts.contains_key(&Key::account("ann")));
    }

    #[test]
    fn long_names_are_cut_on_a_character_boundary() {
        let name = "é".repeat(100);
        let Key::Account(kept) = Key::account(&name) else {
            unreachable!()
        };
        assert!(kept.len() <= MAX_NAME && name.starts_with(&kept));
    }
}
