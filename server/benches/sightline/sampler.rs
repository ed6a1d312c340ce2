//! What sampling costs: CPU time of one host/process sample and of the lag probes that
//! run between samples, as a share of one core at the default 1 Hz.

use std::path::Path;
use std::time::{Duration, Instant};

use sightline::sampler::{LagProbe, Sampler};

pub fn run() {
    const SAMPLES: u32 = 100;
    let mut sampler = Sampler::new(Path::new("."), Instant::now());
    sampler.sample();
    std::thread::sleep(Duration::from_millis(200));
    let before = super::thread_cpu_time();
    for _ in 0..SAMPLES {
        std::hint::black_box(sampler.sample());
    }
    let per_sample = (super::thread_cpu_time() - before) / SAMPLES;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let per_probe = runtime.block_on(async {
        let handle = tokio::runtime::Handle::current();
        let mut probe = LagProbe::default();
        let before = super::thread_cpu_time();
        // Each round collects the previous probe task (run during the yield) and sends
        // the next one.
        for _ in 0..1_000 {
            probe.probe(&handle);
            tokio::task::yield_now().await;
        }
        let cost = (super::thread_cpu_time() - before) / 1_000;
        std::hint::black_box(probe.take(&handle));
        cost
    });
    // At 1 Hz: one sample and four probes (every 250 ms) per second.
    let per_second = per_sample + per_probe * 4;
    println!("## Sampler (`sampler`)\n");
    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| CPU per host+process sample | {:.0} µs |",
        per_sample.as_secs_f64() * 1e6
    );
    println!(
        "| CPU per runtime lag probe | {:.1} µs |",
        per_probe.as_secs_f64() * 1e6
    );
    println!(
        "| share of one core at 1 Hz (1 sample + 4 probes per second; target <= 0.5 %) | {:.3} % |\n",
        per_second.as_secs_f64() * 100.0
    );
}
