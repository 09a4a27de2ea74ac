//! Pages read ahead of the batches that consume them: a pull's next pages come in while
//! the current batch is matched and written, and a batch may span pages (HubSpot's search
//! pages hold 200 records, a batch more). Only the pulling runs ahead: batches are still
//! synced one after the other, each checkpointed with the cursor after it, so a look-up
//! never runs before the previous batch's creates have landed, and a crash resumes after
//! the last checkpointed batch (pages read ahead and not synced are read again).

use std::collections::VecDeque;

use serde_json::Value;
use tokio::sync::mpsc;

use super::pull::{HsPager, SfPager};
use crate::error::ApiError;

/// A pull that hands out pages in order.
pub(super) trait Pages {
    async fn next_page(&mut self) -> Result<Option<Vec<Value>>, ApiError>;
}

impl Pages for HsPager<'_> {
    async fn next_page(&mut self) -> Result<Option<Vec<Value>>, ApiError> {
        self.next().await
    }
}

impl Pages for SfPager<'_> {
    async fn next_page(&mut self) -> Result<Option<Vec<Value>>, ApiError> {
        self.next().await
    }
}

/// Batches of at most `size` records, from the pages read ahead.
pub(super) struct Batches {
    pages: mpsc::Receiver<Result<Vec<Value>, ApiError>>,
    pending: VecDeque<Value>,
    done: bool,
    size: usize,
}

impl Batches {
    /// The next batch (the last may be shorter); None when the pull has no more.
    pub(super) async fn next(&mut self) -> Result<Option<Vec<Value>>, ApiError> {
        while !self.done && self.pending.len() < self.size {
            match self.pages.recv().await {
                Some(Ok(page)) => self.pending.extend(page),
                Some(Err(e)) => return Err(e),
                None => self.done = true,
            }
        }
        if self.pending.is_empty() {
            return Ok(None);
        }
        let n = self.size.min(self.pending.len());
        Ok(Some(self.pending.drain(..n).collect()))
    }
}

/// Records read ahead at most (beyond the page being read and the batch being synced):
/// two batches, up to this many, so that big pages or big batches do not multiply memory.
const ROOM_RECORDS: usize = 4_000;

/// Pages that may wait in the channel, for pages of at most `page_size` records.
fn room(page_size: usize, batch_size: usize) -> usize {
    (2 * batch_size)
        .min(ROOM_RECORDS)
        .div_ceil(page_size.max(1))
        .max(1)
}

/// The reading (to be joined with the syncing of its batches, in the same task: the calls
/// keep the pass's attribution) and the batches it feeds. `page_size` is the largest page
/// the pager hands out. At most two batches' worth of records wait (no more than
/// `ROOM_RECORDS`, and at least a page); the reading stops when the batches are dropped.
pub(super) fn read_ahead<'p, P: Pages>(
    pager: &'p mut P,
    page_size: usize,
    batch_size: usize,
) -> (impl Future<Output = ()> + 'p, Batches) {
    let room = room(page_size, batch_size);
    let (tx, rx) = mpsc::channel(room);
    let reading = async move {
        loop {
            let (page, last) = match pager.next_page().await {
                Ok(Some(p)) => (Ok(p), false),
                Ok(None) => break,
                Err(e) => (Err(e), true),
            };
            if tx.send(page).await.is_err() || last {
                break;
            }
        }
    };
    let batches = Batches {
        pages: rx,
        pending: VecDeque::new(),
        done: false,
        size: batch_size.max(1),
    };
    (reading, batches)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{ErrorClass, Provider};

    /// Pages of numbers, then maybe an error.
    struct Numbers {
        pages: VecDeque<Result<Vec<Value>, ApiError>>,
        asked: usize,
    }

    impl Pages for Numbers {
        async fn next_page(&mut self) -> Result<Option<Vec<Value>>, ApiError> {
            self.asked += 1;
            self.pages.pop_front().transpose()
        }
    }

    fn numbers(pages: &[std::ops::Range<u64>], fail: bool) -> Numbers {
        let mut q: VecDeque<_> = pages
            .iter()
            .map(|r| Ok(r.clone().map(Value::from).collect()))
            .collect();
        if fail {
            q.push_back(Err(ApiError::new(
                Provider::Hubspot,
                ErrorClass::Transient,
                "down",
            )));
        }
        Numbers { pages: q, asked: 0 }
    }

    #[test]
    fn the_room_is_two_batches_of_records_within_bounds_and_at_least_a_page() {
        assert_eq!(room(200, 1000), 10); // HubSpot search pages, default batches
        assert_eq!(room(2000, 1000), 1);
        assert_eq!(room(2000, 2000), 2);
        assert_eq!(room(200, 5000), 20); // big batches do not read 10,000 ahead
        assert_eq!(room(5000, 1000), 1); // a Bulk results page waits alone
    }

    #[tokio::test]
    async fn batches_span_pages_in_order_and_the_last_is_shorter() {
        let mut pager = numbers(&[0..3, 3..6, 6..7], false);
        let (reading, mut batches) = read_ahead(&mut pager, 3, 4);
        let syncing = async move {
            let mut got = Vec::new();
            while let Some(b) = batches.next().await.unwrap() {
                got.push(b.iter().filter_map(Value::as_u64).collect::<Vec<_>>());
            }
            got
        };
        let ((), got) = tokio::join!(reading, syncing);
        assert_eq!(got, vec![vec![0, 1, 2, 3], vec![4, 5, 6]]);
    }

    #[tokio::test]
    async fn a_failed_page_ends_the_batches_with_its_error_and_the_reading_with_it() {
        let mut pager = numbers(&[0..2, 2..2], true);
        let (reading, mut batches) = read_ahead(&mut pager, 2, 2);
        let syncing = async move {
            let first = batches.next().await.unwrap();
            (first, batches.next().await)
        };
        let ((), (first, second)) = tokio::join!(reading, syncing);
        assert_eq!(first.map(|b| b.len()), Some(2));
        assert_eq!(second.unwrap_err().message, "down");
    }

    #[tokio::test]
    async fn the_reading_stops_when_the_syncing_gives_up() {
        let pages: Vec<std::ops::Range<u64>> = (0..100).map(|i| i * 2..i * 2 + 2).collect();
        let mut pager = numbers(&pages, false);
        let (reading, mut batches) = read_ahead(&mut pager, 2, 2);
        let syncing = async move {
            let _ = batches.next().await; // then drops the batches, as a failed batch does
        };
        tokio::join!(reading, syncing);
        assert!(pager.asked < 10, "read {} pages", pager.asked);
    }
}
