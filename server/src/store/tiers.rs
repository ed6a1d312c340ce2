//! Downsampling tiers and the query plan over them.
//!
//! Every window is written to all three tiers at once: its 10 s row, and merged into the
//! row of its minute and of its hour. Pruning then only deletes: 10 s rows after a day,
//! minute rows after a week, hour rows after the retention. Because merged histograms
//! are exact, a coarse row answers the same percentiles as the fine rows it replaced.
//!
//! A range query reads the coarsest rows that fit inside the range and finer rows only at
//! its edges: a 24 h range costs about 24 hour rows, 120 minute rows and 12 window rows
//! per route, not 8,640.

use sightline_app::history::{DAY_MS, HOUR_MS, MINUTE_MS};

/// Row length of each tier, finest first.
pub const SIZES: [u64; 3] = [10_000, MINUTE_MS, HOUR_MS];
/// How long the two finer tiers are kept (the coarsest lives for the retention).
pub const KEEP: [u64; 2] = [DAY_MS, 7 * DAY_MS];

/// Start of the bucket of `tier` holding `t`.
pub fn bucket(tier: usize, t: u64) -> u64 {
    t - t % SIZES[tier]
}

/// Where pruning stands: rows of tier `k` starting before `horizons[k]` are gone. Each
/// finer horizon is aligned to the next tier's size, so a coarse bucket is either wholly
/// present in the finer tier or wholly pruned there.
pub type Horizons = [u64; 3];

/// The horizons pruning should move to at `now_ms`.
pub fn horizons_at(now_ms: u64, retention_ms: u64) -> Horizons {
    let retention = bucket(2, now_ms.saturating_sub(retention_ms));
    [
        bucket(1, now_ms.saturating_sub(KEEP[0])).max(retention),
        bucket(2, now_ms.saturating_sub(KEEP[1])).max(retention),
        retention,
    ]
}

/// One piece of a plan: rows of `tier` whose start lies in `[from, to)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Piece {
    pub tier: usize,
    pub from: u64,
    pub to: u64,
}

/// Disjoint pieces whose rows hold exactly the windows starting in `[from, to)`, using
/// tiers up to `max_tier`. Where the finer rows were pruned, a window counts when its
/// coarse row starts in the range.
pub fn plan(from: u64, to: u64, max_tier: usize, horizons: &Horizons) -> Vec<Piece> {
    // The finest tier still holding `from` sets the floor.
    let needed = (0..SIZES.len())
        .find(|&k| horizons[k] <= from)
        .unwrap_or(SIZES.len() - 1);
    let mut out = Vec::new();
    cover(from, to, max_tier.max(needed), horizons, &mut out);
    out.sort_by_key(|p| p.from);
    out
}

fn cover(a: u64, b: u64, k: usize, horizons: &Horizons, out: &mut Vec<Piece>) {
    if a >= b {
        return;
    }
    if k == 0 {
        out.push(Piece {
            tier: 0,
            from: a,
            to: b,
        });
        return;
    }
    let size = SIZES[k];
    let finer = horizons[k - 1];
    let start = a.div_ceil(size).saturating_mul(size);
    let end = b / size * size;
    if start >= end {
        // No whole bucket inside. Pruned finer rows mean the only row holding this data
        // starts before `a`, so nothing here counts.
        if a >= finer {
            cover(a, b, k - 1, horizons, out);
        }
        return;
    }
    out.push(Piece {
        tier: k,
        from: start,
        to: end,
    });
    if a >= finer {
        cover(a, start, k - 1, horizons, out);
    }
    if end == b {
        return;
    }
    if end >= finer {
        cover(end, b, k - 1, horizons, out);
    } else {
        // The last bucket starts inside the range: count it whole.
        out.push(Piece {
            tier: k,
            from: end,
            to: end.saturating_add(size),
        });
    }
}

/// The coarsest tier whose rows are no longer than `step_ms`.
pub fn tier_for_step(step_ms: u64) -> usize {
    (0..SIZES.len())
        .rev()
        .find(|&k| SIZES[k] <= step_ms)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: u64 = HOUR_MS;
    const M: u64 = MINUTE_MS;
    const T: u64 = 1_800_000_000_000 - 1_800_000_000_000 % DAY_MS;

    fn covered(pieces: &[Piece]) -> Vec<(u64, u64)> {
        pieces.iter().map(|p| (p.from, p.to)).collect()
    }

    #[test]
    fn recent_ranges_use_coarse_rows_inside_and_fine_rows_at_the_edges() {
        let from = T + 10 * H + 7 * M + 20_000;
        let to = T + 15 * H + 3 * M + 40_000;
        let pieces = plan(from, to, 2, &[0; 3]);
        // Contiguous and exactly the range.
        assert_eq!(pieces.first().unwrap().from, from);
        assert_eq!(pieces.last().unwrap().to, to);
        for w in pieces.windows(2) {
            assert_eq!(w[0].to, w[1].from);
        }
        let tiers: Vec<usize> = pieces.iter().map(|p| p.tier).collect();
        assert_eq!(tiers, [0, 1, 2, 1, 0]);
        assert_eq!(covered(&pieces)[2], (T + 11 * H, T + 15 * H));
    }

    #[test]
    fn pruned_fine_rows_fall_back_to_whole_coarse_buckets() {
        let horizons = [T + 20 * H, T + 20 * H, 0];
        let from = T + 2 * H + 30 * M;
        let to = T + 5 * H + 10 * M;
        let pieces = plan(from, to, 2, &horizons);
        // The partial first hour started before `from`: out. The last hour started
        // inside: in, whole.
        assert_eq!(
            pieces,
            [
                Piece {
                    tier: 2,
                    from: T + 3 * H,
                    to: T + 5 * H
                },
                Piece {
                    tier: 2,
                    from: T + 5 * H,
                    to: T + 6 * H
                },
            ]
        );
    }

    #[test]
    fn series_plans_stop_at_the_step_tier_unless_pruned() {
        let pieces = plan(T, T + H, tier_for_step(10_000), &[0; 3]);
        assert_eq!(
            pieces,
            [Piece {
                tier: 0,
                from: T,
                to: T + H
            }]
        );
        let pieces = plan(T, T + H, 0, &[T + 2 * H, 0, 0]);
        assert_eq!(
            pieces,
            [Piece {
                tier: 1,
                from: T,
                to: T + H
            }]
        );
    }

    #[test]
    fn horizons_align_to_the_next_tier_and_respect_retention() {
        let now = T + 5 * H + 17 * M + 3_000;
        let h = horizons_at(now, 30 * DAY_MS);
        assert_eq!(h[0], now - DAY_MS - (now - DAY_MS) % M);
        assert_eq!(h[1] % H, 0);
        assert_eq!(h[2], T + 5 * H - 30 * DAY_MS);
        let short = horizons_at(now, 1);
        assert_eq!(short, [T + 5 * H; 3]);
    }
}
