//! The machine's argon2id limit at the default (OWASP) cost: password hashes
//! per second on all cores, the bound of the full sign-in rate.

use std::time::{Duration, Instant};

use gatehouse::auth::password::{self, HashCost};

fn main() {
    let cost = HashCost::default();
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let phc = password::hash("a password of ordinary length", cost).expect("argon2 runs");
    let window = Duration::from_secs(3);
    let start = Instant::now();
    let counts: Vec<usize> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    // As the server's hashing threads do.
                    password::keep_memory_on_this_thread();
                    let mut n = 0;
                    while start.elapsed() < window {
                        assert!(password::verify("a password of ordinary length", &phc));
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("worker finished"))
            .collect()
    });
    let total: usize = counts.iter().sum();
    let rate = total as f64 / start.elapsed().as_secs_f64();
    println!(
        "argon2id m={} KiB t={} p={}: {rate:.0} hashes/s on {threads} threads",
        cost.memory_kib, cost.iterations, cost.parallelism
    );
}
