//! Messages of future epochs, held until their epoch begins (bounded).

use alloc::vec::Vec;

use super::ClientError;
use crate::messages::MlsMessage;

/// Held messages with their epochs, in arrival order.
#[derive(Default)]
pub(super) struct Inbox {
    held: Vec<(u64, MlsMessage)>,
}

impl Inbox {
    /// Holds `message` of `epoch`, unless `limit` messages wait already
    /// (a limit of 0: holding is off).
    pub(super) fn hold(&mut self, epoch: u64, message: MlsMessage, limit: usize) -> Result<(), ClientError> {
        if limit == 0 {
            return Err(ClientError::FutureEpoch);
        }
        if self.held.len() >= limit {
            return Err(ClientError::BufferFull);
        }
        self.held.push((epoch, message));
        Ok(())
    }

    /// Takes the messages of epochs up to `current`, in arrival order.
    pub(super) fn take_ready(&mut self, current: u64) -> Vec<MlsMessage> {
        let (ready, later) = core::mem::take(&mut self.held)
            .into_iter()
            .partition(|(epoch, _)| *epoch <= current);
        self.held = later;
        ready.into_iter().map(|(_, m)| m).collect()
    }

    /// The held messages with their epochs, in arrival order.
    pub(super) fn held(&self) -> &[(u64, MlsMessage)] {
        &self.held
    }

    /// An inbox holding `held`, as stored.
    pub(super) fn from_held(held: Vec<(u64, MlsMessage)>) -> Self {
        Self { held }
    }

    /// Drops every held message.
    pub(super) fn clear(&mut self) {
        self.held.clear();
    }

    /// How many messages wait.
    pub(super) fn len(&self) -> usize {
        self.held.len()
    }
}
