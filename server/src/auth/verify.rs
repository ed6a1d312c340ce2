//! Password checks on a fixed pair of threads, each with its Argon2 memory allocated once.
//!
//! Argon2 takes ~19 MiB and tens of milliseconds per check. Allocated per check, that
//! memory stays with the allocator afterwards, about 19 MiB more per check. Here
//! [`VERIFY_THREADS`] threads each own one buffer, reused by every check they run: at most
//! that many checks run at once, the memory they take is bounded for good, at most
//! [`VERIFY_QUEUE`] more wait (a closure each, never on the app's workers), and the rest
//! are told to come back.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use argon2::password_hash::PasswordHash;
use argon2::{Algorithm, Argon2, Block, Params, Version};
use subtle::ConstantTimeEq;

/// Threads that check passwords, hence checks that run at once.
pub const VERIFY_THREADS: usize = 2;
/// Checks that may wait for a thread; past it a sign-in is answered "busy" at once, so a
/// flood from many addresses holds neither memory nor a real user's turn for minutes.
pub const VERIFY_QUEUE: usize = 32;

/// Why a check did not run.
#[derive(Debug, PartialEq, Eq)]
pub enum Busy {
    /// [`VERIFY_QUEUE`] checks are already waiting.
    Full,
    /// The threads are gone (they could not be started).
    Gone,
}

/// A check, given the thread's Argon2 memory.
type Job = Box<dyn FnOnce(&mut Vec<Block>) + Send>;

#[derive(Default)]
pub struct Verifier {
    /// Started at the first check: a dashboard with access control off never needs them.
    queue: OnceLock<Mutex<Sender<Job>>>,
    /// Checks sent and not yet finished.
    pending: Arc<AtomicUsize>,
}

impl Verifier {
    fn queue(&self) -> &Mutex<Sender<Job>> {
        self.queue.get_or_init(|| {
            let (tx, rx) = channel::<Job>();
            let rx = Arc::new(Mutex::new(rx));
            for n in 0..VERIFY_THREADS {
                let rx = rx.clone();
                let spawned = std::thread::Builder::new()
                    .name(format!("sightline-verify-{n}"))
                    .spawn(move || work(&rx));
                if let Err(e) = spawned {
                    tracing::error!("starting a password-check thread: {e}");
                }
            }
            Mutex::new(tx)
        })
    }

    /// Runs `check` on one of the threads. A check whose caller has gone away (the client
    /// hung up while it waited) is not run.
    pub async fn run<T: Send + 'static>(
        &self,
        check: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    ) -> Result<T, Busy> {
        let admitted = self
            .pending
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < VERIFY_THREADS + VERIFY_QUEUE).then_some(n + 1)
            });
        if admitted.is_err() {
            return Err(Busy::Full);
        }
        let pending = self.pending.clone();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |memory| {
            if !tx.is_closed() {
                let _ = tx.send(check(memory));
            }
            pending.fetch_sub(1, Ordering::AcqRel);
        });
        let sent = self
            .queue()
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .send(job);
        if sent.is_err() {
            self.pending.fetch_sub(1, Ordering::AcqRel);
            return Err(Busy::Gone);
        }
        rx.await.map_err(|_| Busy::Gone)
    }
}

fn work(rx: &Mutex<Receiver<Job>>) {
    let mut memory = Vec::new();
    loop {
        let job = rx.lock().unwrap_or_else(PoisonError::into_inner).recv();
        match job {
            Ok(job) => job(&mut memory),
            Err(_) => return,
        }
    }
}

/// Whether `password` matches the PHC string `phc`, computed in `memory` (grown to the
/// hash's memory cost if smaller) and compared in constant time.
pub fn matches(phc: &str, password: &[u8], memory: &mut Vec<Block>) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(hash.algorithm) else {
        return false;
    };
    let version = match hash.version.map(Version::try_from).transpose() {
        Ok(v) => v.unwrap_or_default(),
        Err(_) => return false,
    };
    let Ok(params) = Params::try_from(&hash) else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    let mut out = vec![0u8; expected.len()];
    let computed = Argon2::new(algorithm, version, params).hash_password_into_with_memory(
        password,
        salt,
        &mut out,
        &mut memory[..blocks],
    );
    computed.is_ok() && bool::from(out.ct_eq(expected.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn at_most_two_checks_run_at_once_and_every_one_answers() {
        let verifier = Arc::new(Verifier::default());
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let checks: Vec<_> = (0..12)
            .map(|n| {
                let (verifier, running, most) = (verifier.clone(), running.clone(), most.clone());
                tokio::spawn(async move {
                    verifier
                        .run(move |_| {
                            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                            most.fetch_max(now, Ordering::SeqCst);
                            std::thread::sleep(Duration::from_millis(5));
                            running.fetch_sub(1, Ordering::SeqCst);
                            n * 2
                        })
                        .await
                })
            })
            .collect();
        for (n, check) in checks.into_iter().enumerate() {
            assert_eq!(check.await.unwrap(), Ok(n * 2));
        }
        assert!(most.load(Ordering::SeqCst) <= VERIFY_THREADS);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn past_the_queue_checks_are_turned_away_at_once() {
        let verifier = Arc::new(Verifier::default());
        let (release, gate) = std::sync::mpsc::channel::<()>();
        let gate = Arc::new(Mutex::new(gate));
        // Fill the threads and the queue with checks that wait for the gate.
        let held: Vec<_> = (0..VERIFY_THREADS + VERIFY_QUEUE)
            .map(|_| {
                let (verifier, gate) = (verifier.clone(), gate.clone());
                tokio::spawn(async move {
                    verifier
                        .run(move |_| {
                            let _ = gate.lock().unwrap().recv();
                        })
                        .await
                })
            })
            .collect();
        while verifier.pending.load(Ordering::SeqCst) < VERIFY_THREADS + VERIFY_QUEUE {
            tokio::task::yield_now().await;
        }
        assert_eq!(verifier.run(|_| ()).await, Err(Busy::Full));
        for _ in 0..held.len() {
            release.send(()).unwrap();
        }
        for check in held {
            assert_eq!(check.await.unwrap(), Ok(()));
        }
        assert_eq!(verifier.run(|_| 7).await, Ok(7));
    }

    #[test]
    fn a_reused_buffer_checks_like_the_library_does() {
        let phc = super::super::hash_password("correct horse").unwrap();
        let mut memory = Vec::new();
        assert!(matches(&phc, b"correct horse", &mut memory));
        let kept = memory.as_ptr();
        assert!(!matches(&phc, b"correct hors", &mut memory));
        assert!(!matches(&phc, b"", &mut memory));
        assert!(matches(&phc, b"correct horse", &mut memory));
        assert_eq!(
            memory.as_ptr(),
            kept,
            "the buffer is reused, not reallocated"
        );
        assert!(!matches("not a hash", b"x", &mut memory));
    }
}
