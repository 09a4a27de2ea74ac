//! The time limit of the calls into one Lua state, shared by the instruction hook, the
//! host functions that run long in Rust (patterns, moves) and the callers that arm it.
//!
//! A limit that Lua code can catch is no limit: once a call's time is up (or Ctrl-C came),
//! the clock is *tripped* and stays so until the call returns — the hook fails every later
//! instruction, and `pcall`, `xpcall` and `coroutine.resume` hand the failure on instead of
//! returning it (see `sandbox.lua`). Lua code may run only inside an armed call: a hook that
//! finds the clock idle (a finalizer, a metamethod run by the host after the call) stops it.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// `deadline` values that are not deadlines.
const IDLE: u64 = 0;
const PAUSED: u64 = u64::MAX;

#[derive(Debug)]
pub struct CallClock {
    /// Where Lua code was when the instruction hook last ran: memory errors carry no
    /// location of their own, so they are reported "near" this.
    last_at: Mutex<String>,
    origin: Instant,
    /// Nanoseconds after `origin`, or IDLE (no call running), or PAUSED (the host works).
    deadline: AtomicU64,
    limit: Duration,
    /// Set by Ctrl-C in the REPL: the running Lua code stops at the next hook.
    interrupted: AtomicBool,
    /// The running call broke its limit or was interrupted (a [`Stop`] as u8, 0 = no):
    /// nothing of it may go on.
    tripped: AtomicU8,
}

/// Why the clock stopped Lua code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    TimeUp = 1,
    Interrupted = 2,
    Idle = 3,
}

impl CallClock {
    pub fn new(limit: Duration) -> CallClock {
        CallClock {
            last_at: Mutex::new(String::new()),
            origin: Instant::now(),
            deadline: AtomicU64::new(IDLE),
            limit,
            interrupted: AtomicBool::new(false),
            tripped: AtomicU8::new(0),
        }
    }

    /// Stop the Lua code running in this state at its next instruction hook.
    pub fn interrupt(&self) {
        self.interrupted.store(true, Ordering::Relaxed);
    }

    /// Forget an interrupt that came when nothing was running.
    pub fn clear_interrupt(&self) {
        self.interrupted.store(false, Ordering::Relaxed);
    }

    /// Arm the clock for one call; disarmed when the guard drops.
    pub fn start(self: &Arc<Self>) -> ClockGuard {
        if let Ok(mut last) = self.last_at.lock() {
            last.clear();
        }
        self.tripped.store(0, Ordering::Relaxed);
        let at = self.origin.elapsed() + self.limit;
        self.deadline.store(
            (at.as_nanos() as u64).clamp(1, PAUSED - 1),
            Ordering::Relaxed,
        );
        ClockGuard(self.clone())
    }

    pub fn limit(&self) -> Duration {
        self.limit
    }

    /// The last `file:line` the hook saw.
    pub fn last_location(&self) -> String {
        self.last_at.lock().map(|s| s.clone()).unwrap_or_default()
    }

    pub(crate) fn note_location(&self, at: String) {
        if let Ok(mut last) = self.last_at.lock() {
            *last = at;
        }
    }

    /// Whether the running call must stop now, and why; a stop trips the clock.
    pub fn check(&self) -> Option<Stop> {
        if self.interrupted.swap(false, Ordering::Relaxed) {
            self.tripped
                .store(Stop::Interrupted as u8, Ordering::Relaxed);
        }
        if let Some(stop) = self.trip_reason() {
            return Some(stop);
        }
        match self.deadline.load(Ordering::Relaxed) {
            IDLE => {
                self.tripped.store(Stop::Idle as u8, Ordering::Relaxed);
                Some(Stop::Idle)
            }
            PAUSED => None,
            d if self.origin.elapsed().as_nanos() as u64 > d => {
                self.tripped.store(Stop::TimeUp as u8, Ordering::Relaxed);
                Some(Stop::TimeUp)
            }
            _ => None,
        }
    }

    /// Why the running call was stopped, if it was: its Lua code may not go on, caught or
    /// not.
    pub fn trip_reason(&self) -> Option<Stop> {
        match self.tripped.load(Ordering::Relaxed) {
            1 => Some(Stop::TimeUp),
            2 => Some(Stop::Interrupted),
            3 => Some(Stop::Idle),
            _ => None,
        }
    }

    pub fn tripped(&self) -> bool {
        self.trip_reason().is_some()
    }

    /// The message of a stop, as the plugin sees it.
    pub fn stop_message(&self, stop: Stop) -> String {
        match stop {
            Stop::TimeUp => format!("time limit of {} ms exceeded", self.limit.as_millis()),
            Stop::Interrupted => "interrupted".into(),
            Stop::Idle => "Lua code ran outside a call (a finalizer or a metamethod the host reached after the call); refused".into(),
        }
    }

    /// Stop the clock while the host works (an API call awaits the network); it restarts
    /// with the time that was left when the guard drops.
    pub fn pause(self: &Arc<Self>) -> PausedClock {
        let d = self.deadline.swap(PAUSED, Ordering::Relaxed);
        let left = match d {
            IDLE => None,
            PAUSED => Some(None),
            d => Some(Some(Duration::from_nanos(
                d.saturating_sub(self.origin.elapsed().as_nanos() as u64),
            ))),
        };
        PausedClock {
            clock: self.clone(),
            left,
        }
    }
}

pub struct PausedClock {
    clock: Arc<CallClock>,
    /// None: nothing was armed; Some(None): already paused (nested); Some(left).
    left: Option<Option<Duration>>,
}

impl Drop for PausedClock {
    fn drop(&mut self) {
        let restored = match self.left {
            None => IDLE,
            Some(None) => PAUSED,
            Some(Some(left)) => {
                let at = self.clock.origin.elapsed() + left;
                (at.as_nanos() as u64).clamp(1, PAUSED - 1)
            }
        };
        self.clock.deadline.store(restored, Ordering::Relaxed);
    }
}

pub struct ClockGuard(Arc<CallClock>);

impl Drop for ClockGuard {
    fn drop(&mut self) {
        self.0.deadline.store(IDLE, Ordering::Relaxed);
        self.0.tripped.store(0, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stop_stays_until_the_call_returns() {
        let clock = Arc::new(CallClock::new(Duration::from_millis(1)));
        assert_eq!(clock.check(), Some(Stop::Idle), "nothing armed");
        assert!(
            clock.tripped(),
            "Lua code outside a call may not go on either"
        );
        {
            let _armed = clock.start();
            assert_eq!(clock.check(), None);
            std::thread::sleep(Duration::from_millis(3));
            assert_eq!(clock.check(), Some(Stop::TimeUp));
            assert!(clock.tripped());
            {
                let _paused = clock.pause();
                assert!(clock.tripped(), "pausing does not forgive a broken limit");
            }
            assert_eq!(clock.check(), Some(Stop::TimeUp));
        }
        assert!(!clock.tripped(), "the next call starts clean");
    }

    #[test]
    fn a_pause_gives_back_the_time_that_was_left() {
        let clock = Arc::new(CallClock::new(Duration::from_millis(50)));
        let _armed = clock.start();
        {
            let _paused = clock.pause();
            std::thread::sleep(Duration::from_millis(80));
            assert_eq!(
                clock.check(),
                None,
                "the host's wait is not the plugin's time"
            );
        }
        assert_eq!(clock.check(), None);
        clock.interrupt();
        assert_eq!(clock.check(), Some(Stop::Interrupted));
        assert_eq!(
            clock.check(),
            Some(Stop::Interrupted),
            "an interrupt trips the call"
        );
    }
}
