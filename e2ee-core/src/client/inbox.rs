//! Messages of future epochs, held until their epoch begins (bounded in
//! number, in bytes and in how far ahead they may be: they cannot be
//! authenticated before their epoch, so anyone able to inject messages
//! could otherwise fill memory). A message claiming an epoch far ahead is
//! refused without taking room; junk of a near epoch is opened, and
//! dropped as rejected, as soon as that epoch begins, which frees its room.

use alloc::vec::Vec;

use super::Error;
use crate::codec::Size;
use crate::error::Refusal;
use crate::messages::MlsMessage;

/// How many messages, and how many encoded bytes of them, may be held.
#[derive(Clone, Copy, Debug)]
pub(super) struct Limits {
    pub(super) count: usize,
    pub(super) bytes: usize,
    /// How far beyond the current epoch a held message's epoch may be.
    pub(super) epochs_ahead: u64,
}

/// Held messages with their epochs, in arrival order.
#[derive(Default)]
pub(super) struct Inbox {
    held: Vec<(u64, MlsMessage)>,
    /// The encoded size of the held messages.
    bytes: usize,
}

/// The encoded size of held messages.
fn size<'a>(held: impl IntoIterator<Item = &'a (u64, MlsMessage)>) -> usize {
    held.into_iter().map(|(_, m)| m.encoded_len()).sum()
}

impl Inbox {
    /// Holds `message` of `epoch`, ahead of the `current` one, within
    /// `limits` (a count of 0: holding is off).
    pub(super) fn hold(&mut self, current: u64, epoch: u64, message: MlsMessage, limits: Limits) -> Result<(), Error> {
        if limits.count == 0 || epoch - current > limits.epochs_ahead {
            return Err(Refusal::FutureEpoch.into());
        }
        let bytes = self.bytes.saturating_add(message.encoded_len());
        if self.held.len() >= limits.count || bytes > limits.bytes {
            return Err(Refusal::BufferFull.into());
        }
        self.held.push((epoch, message));
        self.bytes = bytes;
        Ok(())
    }

    /// Takes the messages of epochs up to `current`, in arrival order.
    pub(super) fn take_ready(&mut self, current: u64) -> Vec<MlsMessage> {
        let (ready, later): (Vec<_>, Vec<_>) = core::mem::take(&mut self.held)
            .into_iter()
            .partition(|(epoch, _)| *epoch <= current);
        self.bytes = size(&later);
        self.held = later;
        ready.into_iter().map(|(_, m)| m).collect()
    }

    /// The held messages with their epochs, in arrival order.
    pub(super) fn held(&self) -> &[(u64, MlsMessage)] {
        &self.held
    }

    /// An inbox holding `held`, as stored. All of it, even beyond the
    /// limits of today's options: those messages were accepted under the
    /// limits of their day, and dropping them would lose them. Nothing more
    /// is held until the inbox is back within the limits.
    pub(super) fn from_held(held: Vec<(u64, MlsMessage)>) -> Self {
        let bytes = size(&held);
        Self { held, bytes }
    }

    /// Drops every held message.
    pub(super) fn clear(&mut self) {
        self.held.clear();
        self.bytes = 0;
    }

    /// How many messages wait.
    pub(super) fn len(&self) -> usize {
        self.held.len()
    }
}
