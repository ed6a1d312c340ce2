//! The runtime that serves requests, as `--workers` asks for it.

use std::num::NonZeroUsize;

/// One thread per core by default (or `TOKIO_WORKER_THREADS`); with one worker, a
/// current-thread runtime: the same single thread without a work-stealing scheduler to
/// pay for (wake-ups between a connection and its upstream stay on that thread).
pub fn build(workers: Option<NonZeroUsize>) -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = match workers.map(NonZeroUsize::get) {
        Some(1) => tokio::runtime::Builder::new_current_thread(),
        Some(n) => {
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            builder.worker_threads(n);
            builder
        }
        None => tokio::runtime::Builder::new_multi_thread(),
    };
    builder.enable_all().build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::runtime::RuntimeFlavor;

    #[test]
    fn one_worker_is_a_current_thread_runtime_and_more_are_that_many() {
        let one = build(NonZeroUsize::new(1)).unwrap();
        assert_eq!(one.handle().runtime_flavor(), RuntimeFlavor::CurrentThread);
        assert_eq!(one.metrics().num_workers(), 1);
        let three = build(NonZeroUsize::new(3)).unwrap();
        assert_eq!(three.handle().runtime_flavor(), RuntimeFlavor::MultiThread);
        assert_eq!(three.metrics().num_workers(), 3);
        // Both serve what they are given, timers and I/O included.
        for runtime in [one, three] {
            runtime.block_on(async {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addr = listener.local_addr().unwrap();
                let accepted = tokio::spawn(async move { listener.accept().await.is_ok() });
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                tokio::net::TcpStream::connect(addr).await.unwrap();
                assert!(accepted.await.unwrap());
            });
        }
    }
}
