//! The live connection's decisions, as plain state with time passed in: when to retry,
//! which tab leads, when every tab is hidden, when a stream has gone quiet, and which
//! events a tab has already shown. The browser side ([`super::browser`]) only wires these
//! to `EventSource`, `BroadcastChannel` and timers, so the rules are tested here natively.

use std::collections::{HashSet, VecDeque};

/// Reconnection delays: about 1 s, then x1.5 each failed attempt, at most 30 s, with
/// jitter so that many browsers do not retry in step; back to 1 s once a connection has
/// stayed up for a minute.
#[derive(Clone, Debug, Default)]
pub struct Backoff {
    failures: u32,
}

impl Backoff {
    pub const FIRST_MS: f64 = 1_000.0;
    pub const FACTOR: f64 = 1.5;
    pub const MAX_MS: f64 = 30_000.0;
    /// Jitter: the delay is scaled by a factor in `1 ± JITTER`.
    pub const JITTER: f64 = 0.15;
    /// A connection up this long resets the delays.
    pub const HEALTHY_MS: f64 = 60_000.0;

    /// The wait before the next attempt; `unit` is a random number in `[0, 1)`.
    pub fn next_delay_ms(&mut self, unit: f64) -> f64 {
        let base = (Self::FIRST_MS * Self::FACTOR.powi(self.failures as i32)).min(Self::MAX_MS);
        self.failures = self.failures.saturating_add(1);
        base * (1.0 - Self::JITTER + 2.0 * Self::JITTER * unit.clamp(0.0, 1.0))
    }

    /// A connection has been up since `since`: forget the failures once it has lasted.
    pub fn up(&mut self, since_ms: f64, now_ms: f64) {
        if now_ms - since_ms >= Self::HEALTHY_MS {
            self.failures = 0;
        }
    }

    pub fn failures(&self) -> u32 {
        self.failures
    }
}

/// Leader election over `BroadcastChannel` where Web Locks are missing: the leader says so
/// every [`Election::HEARTBEAT_MS`]; a tab that has heard no leader for
/// [`Election::TAKEOVER_MS`] (or was told the leader left) takes over. Two tabs may both
/// lead for a moment; when one hears the other, the one that ranks lower steps down: a
/// hidden tab below a visible one (browsers slow a hidden tab's timers, so its heartbeats
/// come late), then the higher id.
#[derive(Clone, Debug)]
pub struct Election {
    me: u32,
    leading: bool,
    /// The leader last heard from, and when.
    heard: Option<(u32, f64)>,
}

impl Election {
    pub const HEARTBEAT_MS: f64 = 250.0;
    /// Above the one second a hidden leader's throttled timers may take between
    /// heartbeats; a leader that closes says so and is replaced at once.
    pub const TAKEOVER_MS: f64 = 1_500.0;

    /// A tab that has just opened waits one takeover period for a leader to speak.
    pub fn new(me: u32, now_ms: f64) -> Self {
        Self {
            me,
            leading: false,
            heard: Some((me, now_ms)),
        }
    }

    pub fn leading(&self) -> bool {
        self.leading
    }

    /// Another tab says it leads (and whether it is visible; `me_visible`: this tab).
    /// Returns `true` if this tab must step down.
    pub fn heard_leader(&mut self, tab: u32, visible: bool, me_visible: bool, now_ms: f64) -> bool {
        if tab == self.me {
            return false;
        }
        let outranked = (!visible, tab) < (!me_visible, self.me);
        if self.leading && !outranked {
            // The other steps down when it hears us.
            return false;
        }
        self.heard = Some((tab, now_ms));
        std::mem::replace(&mut self.leading, false)
    }

    /// The leader said it is leaving (its page is going away).
    pub fn leader_left(&mut self, tab: u32) {
        if self.heard.is_some_and(|(t, _)| t == tab) {
            self.heard = None;
        }
    }

    /// Whether this tab should lead from now on (and now leads, if so).
    pub fn take_over(&mut self, now_ms: f64) -> bool {
        if self.leading {
            return false;
        }
        let silent = self
            .heard
            .is_none_or(|(_, at)| now_ms - at >= Self::TAKEOVER_MS);
        if silent {
            self.leading = true;
        }
        silent
    }

    /// This tab leads without an election (it holds the Web Lock, or is alone).
    pub fn lead(&mut self) {
        self.leading = true;
    }

    /// This tab stops leading of its own accord (its page is going away).
    pub fn resign(&mut self) {
        self.leading = false;
    }
}

/// When some tab of the dashboard was last seen visible, as the leader tracks it: its own
/// visibility and the reports of the others.
#[derive(Clone, Debug)]
pub struct Audience {
    last_visible_ms: f64,
}

impl Audience {
    /// Tabs report that they are visible this often.
    pub const REPORT_MS: f64 = 1_000.0;

    pub fn new(now_ms: f64) -> Self {
        Self {
            last_visible_ms: now_ms,
        }
    }

    pub fn seen_visible(&mut self, now_ms: f64) {
        self.last_visible_ms = self.last_visible_ms.max(now_ms);
    }

    /// Every tab has been hidden for at least `pause_ms`.
    pub fn all_hidden_for(&self, pause_ms: f64, now_ms: f64) -> bool {
        // A visible tab reports every second: allow one late report before deciding.
        now_ms - self.last_visible_ms >= pause_ms.max(2.0 * Self::REPORT_MS)
    }
}

/// Whether a stream that said it was open still delivers: a snapshot comes every snapshot
/// period and a heartbeat every heartbeat period, so two heartbeat periods (or two
/// snapshot periods, if longer) without anything means something in between holds the
/// bytes back (a buffering proxy) or the connection is dead without an error.
pub fn stalled(last_message_ms: f64, now_ms: f64, heartbeat_ms: f64, snapshot_ms: f64) -> bool {
    now_ms - last_message_ms > 2.0 * heartbeat_ms.max(snapshot_ms)
}

/// Ids of the events a tab has shown recently: an event relayed twice (two tabs leading
/// for a moment, or replayed after a hand-over) is shown once.
#[derive(Clone, Debug, Default)]
pub struct RecentIds {
    order: VecDeque<u64>,
    seen: HashSet<u64>,
}

impl RecentIds {
    /// Ids remembered; far more than a hand-over can replay twice.
    pub const KEPT: usize = 2_048;

    /// `true` the first time `id` is offered.
    pub fn first_time(&mut self, id: u64) -> bool {
        if !self.seen.insert(id) {
            return false;
        }
        self.order.push_back(id);
        if self.order.len() > Self::KEPT
            && let Some(old) = self.order.pop_front()
        {
            self.seen.remove(&old);
        }
        true
    }

    /// The server's ids started again (a reset): earlier ids mean nothing now.
    pub fn forget(&mut self) {
        self.order.clear();
        self.seen.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_by_half_up_to_thirty_seconds_and_resets_after_a_minute_up() {
        let mut b = Backoff::default();
        let middle: Vec<f64> = (0..12).map(|_| b.next_delay_ms(0.5)).collect();
        assert_eq!(middle[0], 1_000.0);
        assert_eq!(middle[1], 1_500.0);
        assert_eq!(middle[2], 2_250.0);
        assert!(middle.windows(2).all(|w| w[1] >= w[0]));
        assert_eq!(*middle.last().unwrap(), 30_000.0);
        b.up(0.0, 59_999.0);
        assert_eq!(b.failures(), 12);
        b.up(0.0, 60_000.0);
        assert_eq!(b.next_delay_ms(0.5), 1_000.0);
    }

    #[test]
    fn below_the_cap_jitter_never_makes_a_later_delay_shorter() {
        let at = |failures, unit| Backoff { failures }.next_delay_ms(unit);
        for n in 0..8 {
            assert!(at(n + 1, 0.0) > at(n, 0.999), "attempt {n}");
        }
        assert!(at(0, 0.0) >= 850.0 && at(0, 0.999) < 1_150.0);
    }

    #[test]
    fn a_silent_leader_is_replaced_after_a_second_and_the_lower_id_wins_a_tie() {
        let mut a = Election::new(5, 0.0);
        assert!(
            !a.take_over(1_000.0),
            "a new tab waits for a leader to speak"
        );
        assert!(a.take_over(1_500.0));
        assert!(a.leading());
        // Another tab led at the same time: the lower id stays.
        let mut b = Election::new(3, 0.0);
        assert!(b.take_over(1_500.0));
        assert!(
            !b.heard_leader(5, true, true, 1_600.0),
            "3 < 5: 3 keeps leading"
        );
        assert!(b.leading());
        assert!(a.heard_leader(3, true, true, 1_600.0), "5 steps down");
        assert!(!a.leading());
        // 3 keeps speaking: 5 never takes over; 3 leaves: 5 takes over at once.
        assert!(!a.take_over(3_000.0));
        a.heard_leader(3, true, true, 3_000.0);
        assert!(!a.take_over(4_400.0));
        a.leader_left(3);
        assert!(a.take_over(4_401.0));
    }

    #[test]
    fn a_visible_leader_outranks_a_hidden_one_whatever_the_ids() {
        let mut hidden = Election::new(1, 0.0);
        hidden.lead();
        assert!(
            hidden.heard_leader(9, true, false, 10.0),
            "hidden 1 yields to visible 9"
        );
        let mut visible = Election::new(9, 0.0);
        visible.lead();
        assert!(
            !visible.heard_leader(1, false, true, 10.0),
            "visible 9 keeps leading"
        );
    }

    #[test]
    fn pause_only_when_every_tab_was_hidden_long_enough() {
        let mut audience = Audience::new(0.0);
        assert!(!audience.all_hidden_for(60_000.0, 59_999.0));
        assert!(audience.all_hidden_for(60_000.0, 60_000.0));
        audience.seen_visible(50_000.0);
        assert!(!audience.all_hidden_for(60_000.0, 100_000.0));
        assert!(audience.all_hidden_for(60_000.0, 110_000.0));
        // A tiny threshold still allows a visible tab's report to be late once.
        let audience = Audience::new(0.0);
        assert!(!audience.all_hidden_for(100.0, 1_500.0));
    }

    #[test]
    fn quiet_streams_are_stalled_after_two_heartbeats() {
        assert!(!stalled(0.0, 30_000.0, 15_000.0, 2_000.0));
        assert!(stalled(0.0, 30_001.0, 15_000.0, 2_000.0));
        // Heartbeats faster than snapshots: two snapshot periods.
        assert!(!stalled(0.0, 4_000.0, 500.0, 2_000.0));
        assert!(stalled(0.0, 4_001.0, 500.0, 2_000.0));
    }

    #[test]
    fn each_event_id_is_shown_once_until_forgotten() {
        let mut ids = RecentIds::default();
        assert!(ids.first_time(7));
        assert!(!ids.first_time(7));
        assert!(ids.first_time(3), "order does not matter");
        for id in 100..100 + RecentIds::KEPT as u64 {
            ids.first_time(id);
        }
        assert!(ids.first_time(7), "old ids are let go");
        ids.forget();
        assert!(ids.first_time(100));
    }
}
