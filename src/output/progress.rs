//! The live progress line under the output on a terminal: a spinner with the current task, how
//! many of its hosts are done and the run's elapsed time.
//!
//! It exists only when stdout is a terminal and the run is not verbose: CI logs and pipes get the
//! plain Ansible-like stream and nothing else. While a bar is shown, everything the printer writes
//! goes through [`Progress::suspend`], which clears the bar, writes, then redraws it, so lines
//! never tear.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::sync::Mutex;
use std::time::Duration;

/// How often the spinner turns while a task runs.
const TICK: Duration = Duration::from_millis(120);

/// A progress line drawn by `indicatif`; cheap to share between threads (it locks internally).
pub struct Progress {
    bar: ProgressBar,
    check: bool,
    /// Where to draw, handed to the bar at the first task: nothing is drawn before it.
    target: Mutex<Option<ProgressDrawTarget>>,
}

/// The bar drawn on the terminal, if any: code outside the printer that must talk to the user
/// (a key's passphrase prompt) goes through [`suspend_terminal`].
static ON_TERMINAL: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Runs `f` (which uses the terminal) with the progress line, if one is drawn, cleared.
pub fn suspend_terminal<R>(f: impl FnOnce() -> R) -> R {
    let bar = ON_TERMINAL.lock().ok().and_then(|b| b.clone());
    match bar {
        Some(b) => b.suspend(f),
        None => f(),
    }
}

impl Progress {
    /// A progress line on stdout (hidden by `indicatif` itself when stdout is not a terminal).
    pub fn stdout(color: bool, check: bool) -> Self {
        let p = Self::with_target(ProgressDrawTarget::stdout(), color, check);
        if let Ok(mut t) = ON_TERMINAL.lock() {
            *t = Some(p.bar.clone());
        }
        p
    }

    /// A progress line that draws nothing but still counts (tests).
    pub fn hidden(check: bool) -> Self {
        Self::with_target(ProgressDrawTarget::hidden(), false, check)
    }

    pub fn with_target(target: ProgressDrawTarget, color: bool, check: bool) -> Self {
        let template = if color {
            "{spinner:.cyan} {prefix}{wide_msg} {pos:>3}/{len:3} hosts  {elapsed_precise:.dim}"
        } else {
            "{spinner} {prefix}{wide_msg} {pos:>3}/{len:3} hosts  {elapsed_precise}"
        };
        let style = ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_spinner())
            .tick_chars("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏ ");
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::hidden())
            .with_style(style)
            .with_prefix(if check { "[check] " } else { "" });
        Progress {
            bar,
            check,
            target: Mutex::new(Some(target)),
        }
    }

    /// A play starts: no task yet.
    pub fn play(&self, name: &str) {
        self.bar.set_message(if name.is_empty() {
            "PLAY".to_string()
        } else {
            format!("PLAY [{name}]")
        });
        self.bar.set_length(0);
        self.bar.set_position(0);
    }

    /// A task starts on `hosts` hosts.
    pub fn task(&self, banner: &str, hosts: usize) {
        self.bar.set_message(banner.to_string());
        self.bar.set_length(hosts as u64);
        self.bar.set_position(0);
        let target = self.target.lock().map(|mut t| t.take()).unwrap_or(None);
        if let Some(target) = target {
            self.bar.set_draw_target(target);
            self.bar.enable_steady_tick(TICK);
        }
    }

    /// One host finished the current task.
    pub fn host_done(&self) {
        self.bar.inc(1);
    }

    /// Every host finished the current task.
    pub fn task_done(&self) {
        if let Some(len) = self.bar.length() {
            self.bar.set_position(len);
        }
    }

    /// Removes the line for good (before the recap).
    pub fn finish(&self) {
        self.bar.disable_steady_tick();
        self.bar.finish_and_clear();
    }

    /// Runs `f` (which writes to the terminal) with the line cleared, then redraws it.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.bar.suspend(f)
    }

    /// `(done, total)` hosts of the current task.
    pub fn counts(&self) -> (u64, u64) {
        (self.bar.position(), self.bar.length().unwrap_or(0))
    }

    /// What the line says about the current task.
    pub fn message(&self) -> String {
        self.bar.message()
    }

    pub fn is_check(&self) -> bool {
        self.check
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        // A run that stops early (error, Ctrl-C unwinding) must not leave a half-drawn line.
        if !self.bar.is_finished() {
            self.bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_hosts_of_the_current_task() {
        let p = Progress::hidden(true);
        assert!(p.is_check());
        p.play("web");
        assert_eq!(p.message(), "PLAY [web]");
        p.task("TASK [install]", 3);
        p.host_done();
        p.host_done();
        assert_eq!(p.counts(), (2, 3));
        assert_eq!(p.message(), "TASK [install]");
        p.task_done();
        assert_eq!(p.counts(), (3, 3));
        assert_eq!(p.suspend(|| 7), 7);
        p.finish();
    }
}
