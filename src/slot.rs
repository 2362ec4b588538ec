//! An account's share of the refresh's parallelism.
//!
//! `--aws.max-accounts-parallel` bounds the accounts that talk to AWS at
//! once. Most of an account's refresh, on a first refresh, is waiting for AWS
//! to build its credential report; an account gives its slot to the next
//! one while it waits, so report generation overlaps across the whole
//! organization instead of queueing behind a few accounts.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

#[derive(Debug, Default)]
pub struct Slot {
    held: Option<(Arc<Semaphore>, Mutex<Option<OwnedSemaphorePermit>>)>,
}

impl Slot {
    /// Waits for a slot of `limit`.
    pub async fn acquire(limit: Arc<Semaphore>) -> Slot {
        let permit = Arc::clone(&limit)
            .acquire_owned()
            .await
            .expect("the refresh never closes its semaphore");
        Slot {
            held: Some((limit, Mutex::new(Some(permit)))),
        }
    }

    /// A slot of nothing: waiting is plain sleeping (tests, single calls).
    pub fn unlimited() -> Slot {
        Slot::default()
    }

    /// Sleeps for `duration` without holding the slot, then takes one again.
    pub async fn idle(&self, duration: Duration) {
        let Some((limit, permit)) = &self.held else {
            tokio::time::sleep(duration).await;
            return;
        };
        drop(permit.lock().unwrap_or_else(|e| e.into_inner()).take());
        tokio::time::sleep(duration).await;
        let again = Arc::clone(limit)
            .acquire_owned()
            .await
            .expect("the refresh never closes its semaphore");
        *permit.lock().unwrap_or_else(|e| e.into_inner()) = Some(again);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn an_idle_slot_lets_another_account_run() {
        let limit = Arc::new(Semaphore::new(1));
        let first = Slot::acquire(Arc::clone(&limit)).await;
        assert_eq!(limit.available_permits(), 0);
        let idle = tokio::spawn(async move {
            first.idle(Duration::from_secs(5)).await;
            first
        });
        tokio::task::yield_now().await;
        // While the first waits, a second account gets the slot.
        let second = Slot::acquire(Arc::clone(&limit)).await;
        drop(second);
        let first = idle.await.unwrap();
        assert_eq!(limit.available_permits(), 0, "the first holds it again");
        drop(first);
        assert_eq!(limit.available_permits(), 1);
    }
}
