//! A fixed set of threads for password hashes, one per core: hashes stay off
//! the async runtime, at most one per core runs at a time, and each thread
//! keeps its argon2 memory for the next hash, so memory stays flat under load.

use std::panic::AssertUnwindSafe;
use std::sync::{mpsc, Arc, Mutex};

type Job = Box<dyn FnOnce() + Send>;

pub struct HashPool {
    jobs: mpsc::Sender<Job>,
}

#[derive(Debug, thiserror::Error)]
#[error("the password hashing threads have stopped")]
pub struct HashingStopped;

impl HashPool {
    /// Starts `threads` hashing threads; they end when the pool is dropped.
    pub fn start(threads: usize) -> std::io::Result<HashPool> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..threads.max(1) {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("gatehouse-hash-{n}"))
                .spawn(move || {
                    crate::auth::password::keep_memory_on_this_thread();
                    loop {
                        let job = match queue.lock() {
                            Ok(queue) => queue.recv(),
                            Err(_) => return,
                        };
                        match job {
                            // A panicking job loses its answer (the caller sees
                            // `HashingStopped`), not the thread.
                            Ok(job) => {
                                let _ = std::panic::catch_unwind(AssertUnwindSafe(job));
                            }
                            Err(_) => return,
                        }
                    }
                })?;
        }
        Ok(HashPool { jobs })
    }

    /// Runs `work` on a hashing thread and waits for its answer.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashingStopped> {
        let (done, answer) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Box::new(move || {
                let _ = done.send(work());
            }))
            .map_err(|_| HashingStopped)?;
        answer.await.map_err(|_| HashingStopped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn work_runs_on_the_pools_threads_and_a_panic_keeps_them() {
        let pool = HashPool::start(1).unwrap();
        let name = pool
            .run(|| std::thread::current().name().map(str::to_string))
            .await
            .unwrap();
        assert_eq!(name.as_deref(), Some("gatehouse-hash-0"));
        assert!(pool.run(|| panic!("a failing job")).await.is_err());
        assert_eq!(pool.run(|| 6 * 7).await.unwrap(), 42);
    }
}
