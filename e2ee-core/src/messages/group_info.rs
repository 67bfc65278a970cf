//! GroupInfo (RFC 9420 §12.4.3).

use alloc::vec::Vec;

use super::{Extension, GroupContext, Mac};
use crate::codec::{Decode, Encode, Size, VLBytes, Writer};

/// GroupInfo (RFC 9420 §12.4.3).
#[derive(Clone, Debug, PartialEq, Eq, Size, Encode, Decode)]
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

impl Encode for GroupInfoTbs<'_> {
    fn encode_to(&self, w: &mut Writer) {
        let gi = self.0;
        gi.group_context.encode_to(w);
        gi.extensions.encode_to(w);
        gi.confirmation_tag.encode_to(w);
        gi.signer.encode_to(w);
    }
}

impl Size for GroupInfoTbs<'_> {
    fn encoded_len(&self) -> usize {
        let gi = self.0;
        gi.group_context.encoded_len()
            + gi.extensions.encoded_len()
            + gi.confirmation_tag.encoded_len()
            + gi.signer.encoded_len()
    }
}
