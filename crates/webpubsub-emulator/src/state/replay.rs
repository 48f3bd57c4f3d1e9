//! The reliable protocol's replay buffer: data frames a client has not acknowledged yet, sent
//! again (same sequence ids) when it recovers.

use std::collections::VecDeque;
use std::time::Instant;

use tokio_tungstenite::tungstenite::Utf8Bytes;

/// Unacknowledged messages a reliable connection may have before it cannot be recovered.
pub(crate) const REPLAY_MESSAGES: usize = 1000;
/// Unacknowledged bytes a reliable connection may have before it cannot be recovered.
pub(crate) const REPLAY_BYTES: usize = 16 * 1024 * 1024;

struct Kept {
    sequence: u64,
    text: Utf8Bytes,
    /// `messageTtlSeconds`: not replayed after this.
    expires: Option<Instant>,
}

/// Frames kept for replay, in sequence order.
#[derive(Default)]
pub(crate) struct Replay {
    next_sequence: u64,
    kept: VecDeque<Kept>,
    bytes: usize,
    /// Set when the limits were passed: the connection can no longer be recovered.
    pub(crate) overflowed: bool,
}

impl Replay {
    /// The next sequence id (1, 2, ...).
    pub(crate) fn next_sequence(&mut self) -> u64 {
        self.next_sequence += 1;
        self.next_sequence
    }

    /// Keeps a frame until acknowledged; `false` when the limits are passed (the buffer is
    /// dropped and the session cannot be recovered).
    pub(crate) fn keep(
        &mut self,
        sequence: u64,
        text: Utf8Bytes,
        expires: Option<Instant>,
    ) -> bool {
        if self.overflowed {
            return false;
        }
        self.bytes += text.len();
        self.kept.push_back(Kept {
            sequence,
            text,
            expires,
        });
        if self.kept.len() > REPLAY_MESSAGES || self.bytes > REPLAY_BYTES {
            self.overflowed = true;
            self.kept.clear();
            self.bytes = 0;
            return false;
        }
        true
    }

    /// Drops frames up to `sequence` (`sequenceAck`).
    pub(crate) fn acknowledge(&mut self, sequence: u64) {
        while self.kept.front().is_some_and(|k| k.sequence <= sequence) {
            if let Some(kept) = self.kept.pop_front() {
                self.bytes -= kept.text.len();
            }
        }
    }

    /// The frames to send again, without those whose TTL passed.
    pub(crate) fn frames(&self, now: Instant) -> Vec<Utf8Bytes> {
        self.kept
            .iter()
            .filter(|k| k.expires.is_none_or(|e| e > now))
            .map(|k| k.text.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn acknowledged_and_expired_frames_are_not_replayed() {
        let mut replay = Replay::default();
        let now = Instant::now();
        for n in 1..=3 {
            let sequence = replay.next_sequence();
            assert_eq!(sequence, n);
            let expires = (n == 3).then(|| now + Duration::from_secs(1));
            assert!(replay.keep(sequence, format!("m{n}").into(), expires));
        }
        replay.acknowledge(1);
        assert_eq!(replay.frames(now), vec!["m2", "m3"]);
        assert_eq!(replay.frames(now + Duration::from_secs(2)), vec!["m2"]);
    }

    #[test]
    fn past_the_limit_the_session_cannot_be_recovered() {
        let mut replay = Replay::default();
        for _ in 0..REPLAY_MESSAGES {
            let s = replay.next_sequence();
            assert!(replay.keep(s, "x".into(), None));
        }
        let s = replay.next_sequence();
        assert!(!replay.keep(s, "x".into(), None));
        assert!(replay.overflowed && replay.frames(Instant::now()).is_empty());
    }
}
