//! GroupInfo (RFC 9420 §12.4.3).

use alloc::vec::Vec;

use super::extensions::write_extensions;
use super::{Extension, GroupContext, Mac};
use crate::codec::{
    CodecError, SerializeBytes, Size, TlsDeserializeBytes, TlsSerializeBytes, TlsSize, VLBytes, WriteTo, encode_written,
};

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

impl WriteTo for GroupInfoTbs<'_> {
    // The extensions (with the tree, the bulk of it) are written in place.
    fn write_to(&self, out: &mut Vec<u8>) -> Result<(), CodecError> {
        let gi = self.0;
        out.extend_from_slice(&gi.group_context.tls_serialize_bytes()?);
        write_extensions(out, &gi.extensions)?;
        out.extend_from_slice(&gi.confirmation_tag.tls_serialize_bytes()?);
        out.extend_from_slice(&gi.signer.to_be_bytes());
        Ok(())
    }
}

impl Size for GroupInfoTbs<'_> {
    fn tls_serialized_len(&self) -> usize {
        let gi = self.0;
        gi.group_context.tls_serialized_len()
            + gi.extensions.tls_serialized_len()
            + gi.confirmation_tag.tls_serialized_len()
            + gi.signer.tls_serialized_len()
    }
}

impl SerializeBytes for GroupInfoTbs<'_> {
    fn tls_serialize_bytes(&self) -> Result<Vec<u8>, tls_codec::Error> {
        encode_written(self)
    }
}
