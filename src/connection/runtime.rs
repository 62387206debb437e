//! The one tokio runtime of the process.
//!
//! The executor drives each host from a plain std thread through the synchronous [`Target`]
//! methods, while russh is async. Rather than a runtime per host (threads and timers multiplied by
//! the number of hosts), every SSH session of the run lives on this shared multi-thread runtime,
//! and the synchronous methods bridge into it with [`block_on`]. It must never be called from a
//! thread of the runtime itself (tokio panics on nested `block_on`).
//!
//! [`Target`]: converge_modules::Target

use std::future::Future;
use std::sync::OnceLock;

use tokio::runtime::{Builder, Runtime};

/// The shared runtime, built on first use.
pub fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        // The work is I/O and crypto for a handful of sessions: a few workers are plenty and
        // leave the cores to the host threads.
        let workers = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
            .clamp(2, 4);
        Builder::new_multi_thread()
            .worker_threads(workers)
            .thread_name("converge-io")
            .enable_all()
            .build()
            .expect("cannot start the I/O runtime")
    })
}

/// Run a future to completion from a synchronous (non-runtime) thread.
pub fn block_on<F: Future>(future: F) -> F::Output {
    debug_assert!(
        tokio::runtime::Handle::try_current().is_err(),
        "connection::runtime::block_on called from inside the runtime"
    );
    runtime().block_on(future)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_runtime_for_many_threads() {
        let a = runtime() as *const Runtime as usize;
        let handles: Vec<_> = (0..4)
            .map(|i| {
                std::thread::spawn(move || {
                    let b = runtime() as *const Runtime as usize;
                    (block_on(async move { i * 2 }), b)
                })
            })
            .collect();
        for (i, h) in handles.into_iter().enumerate() {
            let (v, b) = h.join().unwrap();
            assert_eq!(v, i * 2);
            assert_eq!(a, b);
        }
    }
}
