//! Password checks on a fixed pair of threads, each with its Argon2 memory allocated once.
//!
//! Argon2 takes ~19 MiB and tens of milliseconds per check. Allocated per check, that
//! memory stays with the allocator afterwards (measured: each wrong sign-in left the
//! process ~19 MiB larger). Here [`VERIFY_THREADS`] threads each own one buffer, reused
//! by every check they run: at most that many checks run at once, the memory they take is
//! bounded for good, and the rest wait in the queue (a closure each), never on the app's
//! workers.

use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use argon2::password_hash::PasswordHash;
use argon2::{Algorithm, Argon2, Block, Params, Version};
use subtle::ConstantTimeEq;

/// Threads that check passwords, hence checks that run at once.
pub const VERIFY_THREADS: usize = 2;

/// A check, given the thread's Argon2 memory.
type Job = Box<dyn FnOnce(&mut Vec<Block>) + Send>;

#[derive(Default)]
pub struct Verifier {
    /// Started at the first check: a dashboard with access control off never needs them.
    queue: OnceLock<Mutex<Sender<Job>>>,
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

    /// Runs `check` on one of the threads; `None` if they are gone.
    pub async fn run<T: Send + 'static>(
        &self,
        check: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    ) -> Option<T> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |memory| {
            let _ = tx.send(check(memory));
        });
        let sent = self
            .queue()
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .send(job);
        sent.ok()?;
        rx.await.ok()
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
    use std::sync::atomic::{AtomicUsize, Ordering};
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
            assert_eq!(check.await.unwrap(), Some(n * 2));
        }
        assert!(most.load(Ordering::SeqCst) <= VERIFY_THREADS);
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
