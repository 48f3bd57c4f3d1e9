//! The reliable protocol's receiving side: which sequence ids arrived, which are acknowledged.

/// The sequence ids of one logical connection (kept across recoveries, new for a new
/// connection). Ids start at 1 and grow by one; anything at or below the highest seen is a
/// replayed duplicate.
#[derive(Debug, Default)]
pub(crate) struct Sequence {
    received: u64,
    acked: u64,
}

impl Sequence {
    /// Records `id`; `false` for a duplicate (drop it).
    pub(crate) fn accept(&mut self, id: u64) -> bool {
        if id <= self.received {
            return false;
        }
        self.received = id;
        true
    }

    /// The highest id received.
    pub(crate) fn received(&self) -> u64 {
        self.received
    }

    /// Received but not yet acknowledged to the service.
    pub(crate) fn unacked(&self) -> u64 {
        self.received - self.acked
    }

    /// `id` was acknowledged.
    pub(crate) fn acked(&mut self, id: u64) {
        self.acked = self.acked.max(id);
    }
}

#[cfg(test)]
mod tests {
    use super::Sequence;

    #[test]
    fn duplicates_are_dropped_and_acks_trail_receipts() {
        let mut sequence = Sequence::default();
        assert!(sequence.accept(1) && sequence.accept(2));
        assert!(!sequence.accept(2) && !sequence.accept(1), "replayed");
        assert_eq!(sequence.unacked(), 2);
        sequence.acked(sequence.received());
        assert_eq!(sequence.unacked(), 0);
        assert!(sequence.accept(3));
        assert_eq!((sequence.received(), sequence.unacked()), (3, 1));
    }
}
