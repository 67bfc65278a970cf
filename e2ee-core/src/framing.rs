//! Content authentication and protection (RFC 9420 §6.1–§6.3): signing
//! FramedContent, PublicMessage membership tags, and PrivateMessage content
//! and sender-data encryption. The wire structures are in
//! [`crate::messages::framing`].
//!
//! Checking a signature needs the sender's key from the ratchet tree, so the
//! unprotect functions return an [`AuthenticatedContent`] whose signature the
//! caller then checks with [`verify_content`].

use alloc::vec::Vec;

use crate::codec::{CodecError, VLBytes, decode_exact, encode};
use crate::crypto::{self, CipherSuiteProvider, Rng, Signer, Verifier, ct_eq};
use crate::error::{Error, UsageError};
use crate::messages::framing::{
    AuthenticatedContent, AuthenticatedContentTbm, Content, ContentType, FramedContent, FramedContentAuthData,
    FramedContentTbs, PrivateContentAad, PrivateMessage, PublicMessage, Sender, SenderData, SenderDataAad, WireFormat,
};
use crate::messages::{GroupContext, Mac};
use crate::secret_tree::{self, KeyUse, RatchetKind, SecretTree};
use crate::tree_math::LeafIndex;

/// Label of the FramedContent signature (§6.1).
const SIGNATURE_LABEL: &[u8] = b"FramedContentTBS";

crate::error::error_enum! {
    /// Why a message could not be protected or unprotected.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum FramingError {
        /// The message is for another group.
        WrongGroup => "wrong_group", "message is for another group";
        /// The message is for another epoch than the keys given.
        WrongEpoch => "wrong_epoch", "message is for another epoch";
        /// The membership tag of a member's PublicMessage did not verify.
        InvalidMembershipTag => "invalid_membership_tag", "membership tag does not verify";
        /// The content's signature did not verify.
        InvalidSignature => "invalid_signature", "content signature does not verify";
        /// Only members can send PrivateMessages, and only members' content
        /// carries a membership tag.
        SenderNotMember => "sender_not_member", "sender is not a member";
        /// The wire format does not match the message kind.
        WrongWireFormat => "wrong_wire_format", "wire format does not match the message";
        /// The decrypted content's padding had a non-zero byte (§6.3.1).
        InvalidPadding => "invalid_padding", "non-zero padding";
        /// A PrivateMessage's sender data or content did not decrypt: a
        /// tampered ciphertext, or keys of another epoch.
        DecryptionFailed => "decryption_failed", "the message did not decrypt";
        /// The message's protocol version is not `mls10`.
        UnsupportedVersion => "unsupported_version", "unsupported protocol version";
        /// The message's cipher suite is not the group's.
        CipherSuiteMismatch => "cipher_suite_mismatch", "cipher suite differs from the group's";
        /// The message is not of a kind this operation takes (e.g.
        /// application data in a PublicMessage).
        UnexpectedMessage => "unexpected_message", "unexpected kind of message";
        /// The bytes are not a PublicMessage or PrivateMessage.
        NotAGroupMessage => "not_a_group_message", "the message is not a PublicMessage or PrivateMessage";
        /// The bytes are not a Welcome.
        NotAWelcome => "not_a_welcome", "the message is not a Welcome";
        /// The bytes are not a GroupInfo.
        NotAGroupInfo => "not_a_group_info", "the message is not a GroupInfo";
        /// The bytes are not a KeyPackage.
        NotAKeyPackage => "not_a_key_package", "the message is not a KeyPackage";
        /// The sender is not a (non-blank) member, or may not send this.
        InvalidSender => "invalid_sender", "invalid sender";
        /// A Commit's confirmation tag does not match the transcript: the
        /// sender's view of the epoch differs from this member's (§6.1).
        InvalidConfirmationTag => "invalid_confirmation_tag", "confirmation tag does not match";
    }
}

/// `SignWithLabel(signature_key, "FramedContentTBS", FramedContentTBS)` (§6.1).
pub fn sign_content(
    signer: &dyn Signer,
    wire_format: WireFormat,
    content: &FramedContent,
    context: &GroupContext,
) -> Result<VLBytes, Error> {
    let tbs = FramedContentTbs {
        wire_format,
        content,
        context: Some(context),
    };
    let (message, _) = crypto::sign_content_of(SIGNATURE_LABEL, &tbs, 0)?;
    Ok(signer.sign(&message)?.into())
}

/// Verifies the content's signature with the sender's key (§6.1).
pub fn verify_content(
    verifier: &dyn Verifier,
    content: &AuthenticatedContent,
    context: &GroupContext,
) -> Result<(), Error> {
    let tbs = FramedContentTbs {
        wire_format: content.wire_format,
        content: &content.content,
        context: Some(context),
    };
    let (message, _) = crypto::sign_content_of(SIGNATURE_LABEL, &tbs, 0)?;
    verifier
        .verify(&message, &content.auth.signature)
        .map_err(|_| FramingError::InvalidSignature.into())
}

/// `MAC(membership_key, AuthenticatedContentTBM)` (§6.2).
fn membership_tag(
    cs: &dyn CipherSuiteProvider,
    membership_key: &[u8],
    content: &FramedContent,
    auth: &FramedContentAuthData,
    context: &GroupContext,
) -> Result<Mac, Error> {
    let content_tbs = FramedContentTbs {
        wire_format: WireFormat::PUBLIC_MESSAGE,
        content,
        context: Some(context),
    };
    let tbm = encode(&AuthenticatedContentTbm { content_tbs, auth })?;
    Ok(cs.mac(membership_key, &tbm).into())
}

/// Fails unless the message belongs to the group and epoch of `context`.
fn check_epoch(context: &GroupContext, group_id: &[u8], epoch: u64) -> Result<(), FramingError> {
    if context.group_id.as_slice() != group_id {
        return Err(FramingError::WrongGroup);
    }
    if context.epoch != epoch {
        return Err(FramingError::WrongEpoch);
    }
    Ok(())
}

/// Wraps signed content in a PublicMessage, adding the membership tag for
/// member senders (§6.2).
pub fn protect_public(
    cs: &dyn CipherSuiteProvider,
    membership_key: &[u8],
    context: &GroupContext,
    content: AuthenticatedContent,
) -> Result<PublicMessage, Error> {
    if content.wire_format != WireFormat::PUBLIC_MESSAGE {
        return Err(FramingError::WrongWireFormat.into());
    }
    let membership_tag = match content.content.sender {
        Sender::Member(_) => Some(membership_tag(
            cs,
            membership_key,
            &content.content,
            &content.auth,
            context,
        )?),
        _ => None,
    };
    Ok(PublicMessage {
        content: content.content,
        auth: content.auth,
        membership_tag,
    })
}

/// Checks a PublicMessage's group, epoch and (for members) membership tag,
/// and returns its content; the caller verifies the signature (§6.2).
pub fn unprotect_public(
    cs: &dyn CipherSuiteProvider,
    membership_key: &[u8],
    context: &GroupContext,
    message: PublicMessage,
) -> Result<AuthenticatedContent, Error> {
    check_epoch(context, &message.content.group_id, message.content.epoch)?;
    if let Sender::Member(_) = message.content.sender {
        let expected = membership_tag(cs, membership_key, &message.content, &message.auth, context)?;
        let received = message
            .membership_tag
            .as_ref()
            .ok_or(FramingError::InvalidMembershipTag)?;
        if !ct_eq(expected.as_slice(), received.as_slice()) {
            return Err(FramingError::InvalidMembershipTag.into());
        }
    }
    Ok(AuthenticatedContent {
        wire_format: WireFormat::PUBLIC_MESSAGE,
        content: message.content,
        auth: message.auth,
    })
}

/// The secrets of the current epoch that PrivateMessages are protected with.
pub struct PrivateKeys<'a> {
    /// The epoch's `sender_data_secret`.
    pub sender_data_secret: &'a [u8],
    /// The epoch's secret tree.
    pub secret_tree: &'a mut SecretTree,
}

fn ratchet_kind(content_type: ContentType) -> RatchetKind {
    match content_type {
        ContentType::Application => RatchetKind::Application,
        ContentType::Proposal | ContentType::Commit => RatchetKind::Handshake,
    }
}

/// The content nonce: the ratchet's nonce with `reuse_guard` XORed into its
/// first four bytes (§6.3.1).
fn guarded_nonce(nonce: &[u8], reuse_guard: [u8; 4]) -> Vec<u8> {
    let mut out = nonce.to_vec();
    out.iter_mut().zip(reuse_guard).for_each(|(b, g)| *b ^= g);
    out
}

/// The most padding [`protect_private`] appends: enough to hide the length
/// of any chat message, small enough that no sum with it can overflow.
pub const MAX_PADDING: usize = 1 << 16;

/// Encrypts a member's signed content into a PrivateMessage, appending
/// `padding` zero bytes (at most [`MAX_PADDING`]) to the plaintext (§6.3).
pub fn protect_private(
    cs: &dyn CipherSuiteProvider,
    keys: PrivateKeys<'_>,
    content: &AuthenticatedContent,
    padding: usize,
    rng: &mut Rng<'_>,
) -> Result<PrivateMessage, Error> {
    let Sender::Member(leaf_index) = content.content.sender else {
        return Err(FramingError::SenderNotMember.into());
    };
    if content.wire_format != WireFormat::PRIVATE_MESSAGE {
        return Err(FramingError::WrongWireFormat.into());
    }
    if padding > MAX_PADDING {
        return Err(UsageError::PaddingTooLarge.into());
    }
    let framed = &content.content;
    let content_type = framed.content_type();
    let mut plaintext = framed.content.encode_body()?;
    plaintext.extend_from_slice(&encode(&content.auth)?);
    plaintext.resize(plaintext.len() + padding, 0);

    let key = keys
        .secret_tree
        .next_key(cs, LeafIndex(leaf_index), ratchet_kind(content_type))?;
    let mut reuse_guard = [0u8; 4];
    rng.fill_bytes(&mut reuse_guard);
    let aad = encode(&PrivateContentAad {
        group_id: framed.group_id.clone(),
        epoch: framed.epoch,
        content_type,
        authenticated_data: framed.authenticated_data.clone(),
    })?;
    let nonce = guarded_nonce(key.nonce.as_bytes(), reuse_guard);
    let ciphertext = cs.aead_seal(key.key.as_bytes(), &nonce, &aad, &plaintext)?;

    let sender_data = SenderData {
        leaf_index,
        generation: key.generation,
        reuse_guard,
    };
    let sender_aad = sender_data_aad(&framed.group_id, framed.epoch, content_type)?;
    let sd_key = secret_tree::sender_data_key(cs, keys.sender_data_secret, &ciphertext)?;
    let sd_nonce = secret_tree::sender_data_nonce(cs, keys.sender_data_secret, &ciphertext)?;
    let encrypted_sender_data = cs.aead_seal(
        sd_key.as_bytes(),
        sd_nonce.as_bytes(),
        &sender_aad,
        &encode(&sender_data)?,
    )?;

    Ok(PrivateMessage {
        group_id: framed.group_id.clone(),
        epoch: framed.epoch,
        content_type,
        authenticated_data: framed.authenticated_data.clone(),
        encrypted_sender_data: encrypted_sender_data.into(),
        ciphertext: ciphertext.into(),
    })
}

fn sender_data_aad(group_id: &VLBytes, epoch: u64, content_type: ContentType) -> Result<Vec<u8>, CodecError> {
    encode(&SenderDataAad {
        group_id: group_id.clone(),
        epoch,
        content_type,
    })
}

/// Decrypts a PrivateMessage of the epoch of `context` and returns its
/// content; the caller checks that the sender's leaf is non-blank and
/// verifies the signature (§6.3). Each key opens one message: a replay
/// fails with a secret-tree error. The key is used up here; a caller that
/// authenticates the content further uses [`open_private`].
pub fn unprotect_private(
    cs: &dyn CipherSuiteProvider,
    keys: PrivateKeys<'_>,
    context: &GroupContext,
    message: &PrivateMessage,
) -> Result<AuthenticatedContent, Error> {
    let (content, used) = open_private(cs, keys.sender_data_secret, keys.secret_tree, context, message)?;
    keys.secret_tree.consume(used);
    Ok(content)
}

/// [`unprotect_private`] that leaves the key unused: give the [`KeyUse`]
/// to [`SecretTree::consume`] once the content is authentic (its signature
/// verified), and drop it otherwise. An insider who knows the epoch's
/// secrets can make AEAD-valid messages in any member's name; only the
/// signature tells them apart, so only then may the sender's ratchet move.
pub fn open_private(
    cs: &dyn CipherSuiteProvider,
    sender_data_secret: &[u8],
    secret_tree: &mut SecretTree,
    context: &GroupContext,
    message: &PrivateMessage,
) -> Result<(AuthenticatedContent, KeyUse), Error> {
    check_epoch(context, &message.group_id, message.epoch)?;
    let sender_data = open_sender_data(cs, sender_data_secret, message)?;
    let (leaf, kind) = (LeafIndex(sender_data.leaf_index), ratchet_kind(message.content_type));
    let (key, used) = secret_tree.peek_key(cs, leaf, kind, sender_data.generation)?;
    let aad = encode(&PrivateContentAad {
        group_id: message.group_id.clone(),
        epoch: message.epoch,
        content_type: message.content_type,
        authenticated_data: message.authenticated_data.clone(),
    })?;
    let nonce = guarded_nonce(key.nonce.as_bytes(), sender_data.reuse_guard);
    let plaintext = cs
        .aead_open(key.key.as_bytes(), &nonce, &aad, &message.ciphertext)
        .map_err(|_| FramingError::DecryptionFailed)?;
    let (content, auth) = decode_private_content(message.content_type, &plaintext)?;
    let content = AuthenticatedContent {
        wire_format: WireFormat::PRIVATE_MESSAGE,
        content: FramedContent {
            group_id: message.group_id.clone(),
            epoch: message.epoch,
            sender: Sender::Member(sender_data.leaf_index),
            authenticated_data: message.authenticated_data.clone(),
            content,
        },
        auth,
    };
    Ok((content, used))
}

fn open_sender_data(
    cs: &dyn CipherSuiteProvider,
    sender_data_secret: &[u8],
    message: &PrivateMessage,
) -> Result<SenderData, Error> {
    let sd_key = secret_tree::sender_data_key(cs, sender_data_secret, &message.ciphertext)?;
    let sd_nonce = secret_tree::sender_data_nonce(cs, sender_data_secret, &message.ciphertext)?;
    let aad = sender_data_aad(&message.group_id, message.epoch, message.content_type)?;
    let plaintext = cs
        .aead_open(
            sd_key.as_bytes(),
            sd_nonce.as_bytes(),
            &aad,
            &message.encrypted_sender_data,
        )
        .map_err(|_| FramingError::DecryptionFailed)?;
    Ok(decode_exact::<SenderData>(&plaintext)?)
}

/// Splits PrivateMessageContent into content and auth data; the rest is
/// padding and must be all zeros (§6.3.1).
fn decode_private_content(
    content_type: ContentType,
    plaintext: &[u8],
) -> Result<(Content, FramedContentAuthData), Error> {
    let (content, rest) = Content::decode_body(content_type, plaintext)?;
    let (auth, padding) = FramedContentAuthData::decode(rest, content_type)?;
    if padding.iter().any(|b| *b != 0) {
        return Err(FramingError::InvalidPadding.into());
    }
    Ok((content, auth))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{CipherSuite, CryptoProvider, RustCryptoProvider, Secret, os_rng};
    use crate::error::ProtocolError;
    use crate::messages::ProtocolVersion;

    struct Fixture {
        cs: &'static dyn CipherSuiteProvider,
        context: GroupContext,
        signer: crate::crypto::KeyPair,
    }

    fn fixture() -> Fixture {
        let cs = RustCryptoProvider.cipher_suite(CipherSuite(1)).unwrap();
        let context = GroupContext {
            version: ProtocolVersion::MLS10,
            cipher_suite: CipherSuite(1),
            group_id: b"group".into(),
            epoch: 3,
            tree_hash: vec![1; 32].into(),
            confirmed_transcript_hash: vec![2; 32].into(),
            extensions: vec![],
        };
        Fixture {
            cs,
            context,
            signer: cs.signature_key_generate(&mut os_rng()),
        }
    }

    impl Fixture {
        fn signed(&self, wire_format: WireFormat, data: &[u8]) -> AuthenticatedContent {
            let content = FramedContent {
                group_id: self.context.group_id.clone(),
                epoch: self.context.epoch,
                sender: Sender::Member(0),
                authenticated_data: VLBytes::default(),
                content: Content::Application(data.into()),
            };
            let signer = self.cs.signer(self.signer.private.as_bytes()).unwrap();
            let signature = sign_content(&*signer, wire_format, &content, &self.context).unwrap();
            AuthenticatedContent {
                wire_format,
                content,
                auth: FramedContentAuthData {
                    signature,
                    confirmation_tag: None,
                },
            }
        }

        fn tree(&self) -> SecretTree {
            SecretTree::new(Secret::from_slice(&[5; 32]), 2).unwrap()
        }
    }

    const SDS: &[u8] = &[9; 32];

    #[test]
    fn public_message_rejects_bad_tag_epoch_and_signature() {
        let f = fixture();
        let msg = protect_public(f.cs, b"mk", &f.context, f.signed(WireFormat::PUBLIC_MESSAGE, b"hi")).unwrap();
        let ok = unprotect_public(f.cs, b"mk", &f.context, msg.clone()).unwrap();
        verify_content(&*f.cs.verifier(&f.signer.public).unwrap(), &ok, &f.context).unwrap();
        assert_eq!(
            unprotect_public(f.cs, b"other", &f.context, msg.clone()),
            Err(Error::from(FramingError::InvalidMembershipTag))
        );
        let mut later = f.context.clone();
        later.epoch += 1;
        assert_eq!(
            unprotect_public(f.cs, b"mk", &later, msg.clone()),
            Err(Error::from(FramingError::WrongEpoch))
        );
        let other = f.cs.signature_key_generate(&mut os_rng());
        assert_eq!(
            verify_content(&*f.cs.verifier(&other.public).unwrap(), &ok, &f.context),
            Err(Error::from(FramingError::InvalidSignature))
        );
        let private = f.signed(WireFormat::PRIVATE_MESSAGE, b"hi");
        assert_eq!(
            protect_public(f.cs, b"mk", &f.context, private),
            Err(Error::from(FramingError::WrongWireFormat))
        );
    }

    #[test]
    fn private_message_round_trip_tamper_and_replay() {
        let f = fixture();
        let (mut sender, mut receiver) = (f.tree(), f.tree());
        let content = f.signed(WireFormat::PRIVATE_MESSAGE, b"secret");
        let keys = PrivateKeys {
            sender_data_secret: SDS,
            secret_tree: &mut sender,
        };
        let msg = protect_private(f.cs, keys, &content, 0, &mut os_rng()).unwrap();
        assert!(!msg.ciphertext.windows(6).any(|w| w == b"secret"));

        let mut tampered = msg.clone();
        tampered.authenticated_data = b"x".into();
        let keys = PrivateKeys {
            sender_data_secret: SDS,
            secret_tree: &mut receiver,
        };
        assert!(unprotect_private(f.cs, keys, &f.context, &tampered).is_err());

        // The forgery did not use up the key: the same receiver opens the
        // genuine message once; the replay fails.
        let keys = PrivateKeys {
            sender_data_secret: SDS,
            secret_tree: &mut receiver,
        };
        assert_eq!(unprotect_private(f.cs, keys, &f.context, &msg).unwrap(), content);
        let keys = PrivateKeys {
            sender_data_secret: SDS,
            secret_tree: &mut receiver,
        };
        assert!(matches!(
            unprotect_private(f.cs, keys, &f.context, &msg),
            Err(Error::Protocol(ProtocolError::MessageKey(_)))
        ));
    }

    #[test]
    fn padding_must_be_zero() {
        let f = fixture();
        let content = f.signed(WireFormat::PRIVATE_MESSAGE, b"p");
        let mut plaintext = content.content.content.encode_body().unwrap();
        plaintext.extend_from_slice(&encode(&content.auth).unwrap());
        plaintext.extend_from_slice(&[0, 0, 0]);
        assert!(decode_private_content(ContentType::Application, &plaintext).is_ok());
        plaintext.push(1);
        assert_eq!(
            decode_private_content(ContentType::Application, &plaintext),
            Err(Error::from(FramingError::InvalidPadding))
        );
        assert!(decode_private_content(ContentType::Commit, &plaintext).is_err());
    }
}
