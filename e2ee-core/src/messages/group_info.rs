//! GroupInfo (RFC 9420 §12.4.3).

use alloc::vec::Vec;

use super::wire::{Parts, encode_by_parts};
use super::{Extension, GroupContext, Mac};
use crate::codec::{SerializeBytes, TlsDeserializeBytes, TlsSerializeBytes, TlsSize, VLBytes};

/// GroupInfo (RFC 9420 §12.4.3).
#[derive(Clone, Debug, PartialEq, Eq, TlsSize, TlsSerializeBytes, TlsDeserializeBytes)]
pub struct GroupInfo {
    /// The group's context in the new epoch.
    pub group_context: GroupContext,
    /// The GroupInfo's extensions (e.g. `ratchet_tree`, `external_pub`).
    pub extensions: Vec<Extension>,
    /// The confirmation tag of the commit that started the epoch.
    pub confirmation_tag: Mac,
    /// Leaf index of the member that signed.
    pub signer: u32,
    /// `SignWithLabel(., "GroupInfoTBS", GroupInfoTBS)`.
    pub signature: VLBytes,
}

/// GroupInfoTBS (RFC 9420 §12.4.3): every GroupInfo field but `signature`.
/// Encode-only.
#[derive(Clone, Copy, Debug)]
pub struct GroupInfoTbs<'a>(pub &'a GroupInfo);

impl Parts for GroupInfoTbs<'_> {
    fn parts(&self) -> Result<Vec<&dyn SerializeBytes>, tls_codec::Error> {
        let gi = self.0;
        Ok(vec![
            &gi.group_context,
            &gi.extensions,
            &gi.confirmation_tag,
            &gi.signer,
        ])
    }
}

encode_by_parts!(GroupInfoTbs<'_>);
