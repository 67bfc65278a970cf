//! Message framing wire structures (RFC 9420 §6). Only encodings live here;
//! signing, membership tags and encryption are in [`crate::framing`].
//!
//! `FramedContentAuthData.confirmation_tag` (present only for commits) and
//! `PublicMessage.membership_tag` (present only for member senders) are
//! selected by fields earlier in the enclosing structure, so those
//! structures have hand-written codecs. Encoding fails with
//! [`CodecError::InvalidValue`] when an optional field's presence does not
//! match its selector.

use alloc::vec::Vec;

use super::wire::{Parts, check_presence, decode_if, encode_by_parts, push_opt};
use super::{Commit, GroupContext, GroupInfo, KeyPackage, Mac, Proposal, ProtocolVersion, Welcome};
use crate::codec::{CodecError, Decode, Encode, Measured, Reader, Size, VLBytes, Writer, decode_prefix, encode};

/// WireFormat (RFC 9420 §6, §17.2): a `uint16` from an IANA registry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Size, Encode, Decode)]
pub struct WireFormat(pub u16);

impl WireFormat {
    /// `mls_public_message`.
    pub const PUBLIC_MESSAGE: Self = Self(1);
    /// `mls_private_message`.
    pub const PRIVATE_MESSAGE: Self = Self(2);
    /// `mls_welcome`.
    pub const WELCOME: Self = Self(3);
    /// `mls_group_info`.
    pub const GROUP_INFO: Self = Self(4);
    /// `mls_key_package`.
    pub const KEY_PACKAGE: Self = Self(5);
}

/// ContentType (RFC 9420 §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Size, Encode, Decode)]
#[repr(u8)]
pub enum ContentType {
    /// `application`.
    Application = 1,
    /// `proposal`.
    Proposal = 2,
    /// `commit`.
    Commit = 3,
}

/// SenderType (RFC 9420 §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Size, Encode, Decode)]
#[repr(u8)]
pub enum SenderType {
    /// `member`.
    Member = 1,
    /// `external`.
    External = 2,
    /// `new_member_proposal`.
    NewMemberProposal = 3,
    /// `new_member_commit`.
    NewMemberCommit = 4,
}

/// Sender (RFC 9420 §6): `sender_type` followed by the field it selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Size, Encode, Decode)]
#[repr(u8)]
pub enum Sender {
    /// `member`: `uint32 leaf_index`.
    #[codec(discriminant = 1)]
    Member(u32),
    /// `external`: `uint32 sender_index` into the `external_senders` extension.
    #[codec(discriminant = 2)]
    External(u32),
    /// `new_member_proposal`: no field.
    #[codec(discriminant = 3)]
    NewMemberProposal,
    /// `new_member_commit`: no field.
    #[codec(discriminant = 4)]
    NewMemberCommit,
}

impl Sender {
    /// The `sender_type`.
    pub fn sender_type(&self) -> SenderType {
        match self {
            Self::Member(_) => SenderType::Member,
            Self::External(_) => SenderType::External,
            Self::NewMemberProposal => SenderType::NewMemberProposal,
            Self::NewMemberCommit => SenderType::NewMemberCommit,
        }
    }

    /// Whether FramedContentTBS covers the GroupContext for this sender
    /// (`member` and `new_member_commit`, §6.1).
    pub fn signs_group_context(&self) -> bool {
        matches!(self, Self::Member(_) | Self::NewMemberCommit)
    }
}

/// `content_type` and the body it selects in FramedContent (RFC 9420 §6).
#[derive(Clone, Debug, PartialEq, Eq, Size, Encode, Decode)]
#[repr(u8)]
pub enum Content {
    /// `application`: `opaque application_data<V>`.
    #[codec(discriminant = 1)]
    Application(VLBytes),
    /// `proposal`: `Proposal proposal`.
    #[codec(discriminant = 2)]
    Proposal(Proposal),
    /// `commit`: `Commit commit`.
    #[codec(discriminant = 3)]
    Commit(Commit),
}

impl Content {
    /// The `content_type`.
    pub fn content_type(&self) -> ContentType {
        match self {
            Self::Application(_) => ContentType::Application,
            Self::Proposal(_) => ContentType::Proposal,
            Self::Commit(_) => ContentType::Commit,
        }
    }

    /// Decodes the body `content_type` selects, with no `content_type` in
    /// front of it (as in PrivateMessageContent, §6.3.1).
    pub fn decode_body(content_type: ContentType, bytes: &[u8]) -> Result<(Self, &[u8]), CodecError> {
        Ok(match content_type {
            ContentType::Application => decode_as(bytes, Self::Application)?,
            ContentType::Proposal => decode_as(bytes, Self::Proposal)?,
            ContentType::Commit => decode_as(bytes, Self::Commit)?,
        })
    }

    /// Encodes the body alone, without `content_type` (as in
    /// PrivateMessageContent, §6.3.1).
    pub fn encode_body(&self) -> Result<Vec<u8>, CodecError> {
        match self {
            Self::Application(data) => encode(data),
            Self::Proposal(proposal) => encode(proposal),
            Self::Commit(commit) => encode(commit),
        }
    }
}

/// Decodes a `T` and wraps it with `wrap`.
fn decode_as<T: Decode, U>(bytes: &[u8], wrap: fn(T) -> U) -> Result<(U, &[u8]), CodecError> {
    let (value, rest) = decode_prefix(bytes)?;
    Ok((wrap(value), rest))
}

/// FramedContent (RFC 9420 §6).
#[derive(Clone, Debug, PartialEq, Eq, Size, Encode, Decode)]
pub struct FramedContent {
    /// The group's identifier.
    pub group_id: VLBytes,
    /// The epoch the content belongs to.
    pub epoch: u64,
    /// Who sent it.
    pub sender: Sender,
    /// Application-chosen data, authenticated but not encrypted.
    pub authenticated_data: VLBytes,
    /// `content_type` and the selected application data, proposal or commit.
    pub content: Content,
}

impl FramedContent {
    /// The `content_type`.
    pub fn content_type(&self) -> ContentType {
        self.content.content_type()
    }
}

/// FramedContentAuthData (RFC 9420 §6.1). `confirmation_tag` is present
/// exactly when the content type is `commit`; on its own this type encodes
/// whatever it holds, and decodes only given the content type
/// ([`FramedContentAuthData::decode`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FramedContentAuthData {
    /// `SignWithLabel(., "FramedContentTBS", FramedContentTBS)`.
    pub signature: VLBytes,
    /// For commits: `MAC(confirmation_key, confirmed_transcript_hash)`.
    pub confirmation_tag: Option<Mac>,
}

impl FramedContentAuthData {
    /// Decodes the auth data of content of type `content_type` from the
    /// front of `bytes`, returning the rest.
    pub fn decode(bytes: &[u8], content_type: ContentType) -> Result<(Self, &[u8]), CodecError> {
        let mut r = Reader::new(bytes);
        let auth = Self::read(&mut r, content_type)?;
        Ok((auth, r.rest()))
    }

    fn read(r: &mut Reader<'_>, content_type: ContentType) -> Result<Self, CodecError> {
        Ok(Self {
            signature: VLBytes::decode_from(r)?,
            confirmation_tag: decode_if(content_type == ContentType::Commit, r)?,
        })
    }

    /// Requires `confirmation_tag` to be present exactly for commits.
    fn check(&self, content_type: ContentType) -> Result<(), CodecError> {
        check_presence(self.confirmation_tag.is_some(), content_type == ContentType::Commit)
    }
}

impl Parts for FramedContentAuthData {
    fn parts(&self) -> Result<Vec<&dyn Measured>, CodecError> {
        let mut parts: Vec<&dyn Measured> = vec![&self.signature];
        push_opt(&mut parts, &self.confirmation_tag);
        Ok(parts)
    }
}

/// FramedContentTBS (RFC 9420 §6.1): what a FramedContent signature covers.
/// Encode-only. Version is always `mls10`.
#[derive(Clone, Copy, Debug)]
pub struct FramedContentTbs<'a> {
    /// The wire format the message will be sent with.
    pub wire_format: WireFormat,
    /// The content being signed.
    pub content: &'a FramedContent,
    /// The current GroupContext: required for `member` and
    /// `new_member_commit` senders, ignored for the others.
    pub context: Option<&'a GroupContext>,
}

impl FramedContentTbs<'_> {
    /// The GroupContext, if the sender signs it (an error if it is missing).
    fn signed_context(&self) -> Result<Option<&GroupContext>, CodecError> {
        if !self.content.sender.signs_group_context() {
            return Ok(None);
        }
        check_presence(self.context.is_some(), true)?;
        Ok(self.context)
    }
}

impl Size for FramedContentTbs<'_> {
    fn encoded_len(&self) -> usize {
        let context = self.signed_context().ok().flatten();
        ProtocolVersion::MLS10.encoded_len()
            + self.wire_format.encoded_len()
            + self.content.encoded_len()
            + context.map_or(0, Size::encoded_len)
    }
}

impl Encode for FramedContentTbs<'_> {
    fn encode_to(&self, w: &mut Writer) {
        let context = match self.signed_context() {
            Ok(context) => context,
            Err(e) => return w.fail(e),
        };
        ProtocolVersion::MLS10.encode_to(w);
        self.wire_format.encode_to(w);
        self.content.encode_to(w);
        context.inspect(|context| context.encode_to(w));
    }
}

/// AuthenticatedContentTBM (RFC 9420 §6.2): what `membership_tag` covers.
/// Encode-only.
#[derive(Clone, Copy, Debug)]
pub struct AuthenticatedContentTbm<'a> {
    /// The signed content with its context.
    pub content_tbs: FramedContentTbs<'a>,
    /// The content's auth data.
    pub auth: &'a FramedContentAuthData,
}

impl Parts for AuthenticatedContentTbm<'_> {
    fn parts(&self) -> Result<Vec<&dyn Measured>, CodecError> {
        self.auth.check(self.content_tbs.content.content_type())?;
        Ok(vec![&self.content_tbs, self.auth])
    }
}

/// AuthenticatedContent (RFC 9420 §6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthenticatedContent {
    /// The wire format the content was or will be sent with.
    pub wire_format: WireFormat,
    /// The content.
    pub content: FramedContent,
    /// Its signature and, for commits, confirmation tag.
    pub auth: FramedContentAuthData,
}

impl Parts for AuthenticatedContent {
    fn parts(&self) -> Result<Vec<&dyn Measured>, CodecError> {
        self.auth.check(self.content.content_type())?;
        Ok(vec![&self.wire_format, &self.content, &self.auth])
    }
}

impl Decode for AuthenticatedContent {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        let wire_format = WireFormat::decode_from(r)?;
        let content = FramedContent::decode_from(r)?;
        let auth = FramedContentAuthData::read(r, content.content_type())?;
        Ok(Self {
            wire_format,
            content,
            auth,
        })
    }
}

/// PublicMessage (RFC 9420 §6.2). `membership_tag` is present exactly when
/// the sender is a `member`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicMessage {
    /// The content.
    pub content: FramedContent,
    /// Its signature and, for commits, confirmation tag.
    pub auth: FramedContentAuthData,
    /// For member senders: `MAC(membership_key, AuthenticatedContentTBM)`.
    pub membership_tag: Option<Mac>,
}

impl Parts for PublicMessage {
    fn parts(&self) -> Result<Vec<&dyn Measured>, CodecError> {
        self.auth.check(self.content.content_type())?;
        check_presence(self.membership_tag.is_some(), is_member(&self.content.sender))?;
        let mut parts: Vec<&dyn Measured> = vec![&self.content, &self.auth];
        push_opt(&mut parts, &self.membership_tag);
        Ok(parts)
    }
}

impl Decode for PublicMessage {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        let content = FramedContent::decode_from(r)?;
        let auth = FramedContentAuthData::read(r, content.content_type())?;
        let membership_tag = decode_if(is_member(&content.sender), r)?;
        Ok(Self {
            content,
            auth,
            membership_tag,
        })
    }
}

fn is_member(sender: &Sender) -> bool {
    matches!(sender, Sender::Member(_))
}

encode_by_parts!(
    FramedContentAuthData,
    AuthenticatedContentTbm<'_>,
    AuthenticatedContent,
    PublicMessage,
);

/// PrivateMessage (RFC 9420 §6.3).
#[derive(Clone, Debug, PartialEq, Eq, Size, Encode, Decode)]
pub struct PrivateMessage {
    /// The group's identifier.
    pub group_id: VLBytes,
    /// The epoch the content belongs to.
    pub epoch: u64,
    /// The type of the encrypted content.
    pub content_type: ContentType,
    /// Application-chosen data, authenticated but not encrypted.
    pub authenticated_data: VLBytes,
    /// The encrypted SenderData.
    pub encrypted_sender_data: VLBytes,
    /// The encrypted PrivateMessageContent.
    pub ciphertext: VLBytes,
}

/// SenderData (RFC 9420 §6.3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Size, Encode, Decode)]
pub struct SenderData {
    /// The sender's leaf index.
    pub leaf_index: u32,
    /// The generation of the sender's ratchet used for the content.
    pub generation: u32,
    /// Random bytes XORed into the content nonce.
    pub reuse_guard: [u8; 4],
}

/// SenderDataAAD (RFC 9420 §6.3.2).
#[derive(Clone, Debug, PartialEq, Eq, Size, Encode, Decode)]
pub struct SenderDataAad {
    /// The group's identifier.
    pub group_id: VLBytes,
    /// The message's epoch.
    pub epoch: u64,
    /// The message's content type.
    pub content_type: ContentType,
}

/// PrivateContentAAD (RFC 9420 §6.3.1).
#[derive(Clone, Debug, PartialEq, Eq, Size, Encode, Decode)]
pub struct PrivateContentAad {
    /// The group's identifier.
    pub group_id: VLBytes,
    /// The message's epoch.
    pub epoch: u64,
    /// The message's content type.
    pub content_type: ContentType,
    /// The message's authenticated data.
    pub authenticated_data: VLBytes,
}

/// `wire_format` and the message it selects in an MLSMessage (RFC 9420 §6).
#[derive(Clone, Debug, PartialEq, Eq, Size, Encode, Decode)]
#[repr(u16)]
pub enum MlsMessageBody {
    /// `mls_public_message`.
    #[codec(discriminant = 1)]
    PublicMessage(PublicMessage),
    /// `mls_private_message`.
    #[codec(discriminant = 2)]
    PrivateMessage(PrivateMessage),
    /// `mls_welcome`.
    #[codec(discriminant = 3)]
    Welcome(Welcome),
    /// `mls_group_info`.
    #[codec(discriminant = 4)]
    GroupInfo(GroupInfo),
    /// `mls_key_package`.
    #[codec(discriminant = 5)]
    KeyPackage(KeyPackage),
}

impl MlsMessageBody {
    /// The `wire_format`.
    pub fn wire_format(&self) -> WireFormat {
        match self {
            Self::PublicMessage(_) => WireFormat::PUBLIC_MESSAGE,
            Self::PrivateMessage(_) => WireFormat::PRIVATE_MESSAGE,
            Self::Welcome(_) => WireFormat::WELCOME,
            Self::GroupInfo(_) => WireFormat::GROUP_INFO,
            Self::KeyPackage(_) => WireFormat::KEY_PACKAGE,
        }
    }
}

/// MLSMessage (RFC 9420 §6). Any `version` decodes; callers must reject
/// versions other than `mls10`.
#[derive(Clone, Debug, PartialEq, Eq, Size, Encode, Decode)]
pub struct MlsMessage {
    /// The protocol version, `mls10`.
    pub version: ProtocolVersion,
    /// `wire_format` and the message.
    pub body: MlsMessageBody,
}
