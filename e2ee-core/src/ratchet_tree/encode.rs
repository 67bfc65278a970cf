//! Writing nodes straight into one buffer, for [`super::RatchetTree::encode`].
//!
//! A GroupInfo with the tree of a large group encodes every node each
//! Commit, and a join writes every leaf's LeafNodeTBS to verify it. These
//! writers produce the same bytes as the derived encoders (RFC 9420 §7.1,
//! §7.2, §12.4.3.3), which the tests check, but write the common fields
//! directly, without the derived encoders' room-then-move for the length
//! of each short list (the capabilities). Rare parts (X.509 credentials,
//! extensions) use the derived encoders.

use alloc::vec::Vec;

use crate::codec::{CodecError, VLBytes, encode, write_opaque, write_varint_length};
use crate::messages::{Capabilities, Credential, CredentialType, LeafNode, LeafNodeSource, Node, NodeType, ParentNode};

/// Appends the encoding of `nodes` (`optional<Node>` each, §12.4.3.3) to
/// `out`.
pub(super) fn write_optional_nodes<'a>(
    out: &mut Vec<u8>,
    nodes: impl Iterator<Item = Option<&'a Node>>,
) -> Result<(), CodecError> {
    for node in nodes {
        match node {
            None => out.push(0),
            Some(node) => {
                out.push(1);
                write_node(out, node)?;
            }
        }
    }
    Ok(())
}

/// Appends the encoding of `node` (`Node`, §12.4.3.3) to `out`.
pub(super) fn write_node(out: &mut Vec<u8>, node: &Node) -> Result<(), CodecError> {
    out.push(node.node_type() as u8);
    match node {
        Node::Leaf(leaf) => write_leaf(out, leaf),
        Node::Parent(parent) => write_parent(out, parent),
    }
}

/// `ParentNode` (§7.1).
pub(super) fn write_parent(out: &mut Vec<u8>, parent: &ParentNode) -> Result<(), CodecError> {
    write_bytes(out, &parent.encryption_key)?;
    write_bytes(out, &parent.parent_hash)?;
    write_varint_length(4 * parent.unmerged_leaves.len(), out)?;
    for leaf in &parent.unmerged_leaves {
        out.extend_from_slice(&leaf.to_be_bytes());
    }
    Ok(())
}

/// `LeafNode` (§7.2).
pub(super) fn write_leaf(out: &mut Vec<u8>, leaf: &LeafNode) -> Result<(), CodecError> {
    write_leaf_content(out, leaf)?;
    write_bytes(out, &leaf.signature)
}

/// `LeafNodeTBS` (§7.2): the leaf node without its signature, then
/// `group_id` and `leaf_index` unless the source is `key_package`
/// (`group` is required then, and ignored otherwise).
pub(super) fn write_leaf_tbs(
    out: &mut Vec<u8>,
    leaf: &LeafNode,
    group: Option<(&VLBytes, u32)>,
) -> Result<(), CodecError> {
    write_leaf_content(out, leaf)?;
    if matches!(leaf.leaf_node_source, LeafNodeSource::KeyPackage(_)) {
        return Ok(());
    }
    let (group_id, leaf_index) = group.ok_or(CodecError::InvalidValue)?;
    write_bytes(out, group_id)?;
    out.extend_from_slice(&leaf_index.to_be_bytes());
    Ok(())
}

/// The fields of `LeafNode` above its signature (§7.2).
fn write_leaf_content(out: &mut Vec<u8>, leaf: &LeafNode) -> Result<(), CodecError> {
    write_bytes(out, &leaf.encryption_key)?;
    write_bytes(out, &leaf.signature_key)?;
    match &leaf.credential {
        // The common case, written directly: `uint16 credential_type; opaque identity<V>`.
        Credential::Basic(identity) => {
            out.extend_from_slice(&CredentialType::BASIC.0.to_be_bytes());
            write_bytes(out, identity)?;
        }
        other => out.extend_from_slice(&encode(other)?),
    }
    write_capabilities(out, &leaf.capabilities)?;
    match &leaf.leaf_node_source {
        LeafNodeSource::KeyPackage(lifetime) => {
            out.push(1);
            out.extend_from_slice(&lifetime.not_before.to_be_bytes());
            out.extend_from_slice(&lifetime.not_after.to_be_bytes());
        }
        LeafNodeSource::Update => out.push(2),
        LeafNodeSource::Commit(parent_hash) => {
            out.push(3);
            write_bytes(out, parent_hash)?;
        }
    }
    if leaf.extensions.is_empty() {
        out.push(0);
    } else {
        out.extend_from_slice(&encode(&leaf.extensions)?);
    }
    Ok(())
}

/// `Capabilities` (§7.2): five vectors of 16-bit values.
fn write_capabilities(out: &mut Vec<u8>, caps: &Capabilities) -> Result<(), CodecError> {
    write_u16s(out, caps.versions.iter().map(|v| v.0))?;
    write_u16s(out, caps.cipher_suites.iter().map(|s| s.0))?;
    write_u16s(out, caps.extensions.iter().map(|e| e.0))?;
    write_u16s(out, caps.proposals.iter().map(|p| p.0))?;
    write_u16s(out, caps.credentials.iter().map(|c| c.0))
}

/// A vector of 16-bit values (`uint16 values<V>`).
fn write_u16s(out: &mut Vec<u8>, values: impl ExactSizeIterator<Item = u16>) -> Result<(), CodecError> {
    write_varint_length(2 * values.len(), out)?;
    values.for_each(|v| out.extend_from_slice(&v.to_be_bytes()));
    Ok(())
}

/// `opaque data<V>`.
fn write_bytes(out: &mut Vec<u8>, bytes: &VLBytes) -> Result<(), CodecError> {
    write_opaque(out, bytes.as_slice())
}

// The node type values the writers use.
const _: () = assert!(NodeType::Leaf as u8 == 1 && NodeType::Parent as u8 == 2);

#[cfg(test)]
mod tests {
    use super::super::test_utils::{committed_tree, kp_leaf, parent, update_leaf};
    use super::*;
    use crate::messages::{CipherSuite, Extension, ExtensionType, LeafNodeTbs, ProposalType, ProtocolVersion};

    /// The node's encoding and, for a leaf, its LeafNodeTBS with and
    /// without group context, as the derived encoders make them.
    fn assert_same(node: Node) {
        let mut fast = Vec::new();
        write_node(&mut fast, &node).unwrap();
        assert_eq!(fast, encode(&node).unwrap(), "{node:?}");
        let Node::Leaf(leaf) = &node else { return };
        let group_id = VLBytes::from(vec![0x42; 70]);
        for group in [None, Some((&group_id, 0x0102_0304))] {
            let mut fast = Vec::new();
            let written = write_leaf_tbs(&mut fast, leaf, group).map(|()| fast);
            let derived = crate::codec::encode(&LeafNodeTbs { leaf_node: leaf, group });
            match (written, derived) {
                (Ok(written), Ok(derived)) => assert_eq!(written, derived, "{leaf:?}"),
                // Only an update or commit leaf without group context fails.
                (Err(_), Err(_)) => {
                    assert!(group.is_none() && !matches!(leaf.leaf_node_source, LeafNodeSource::KeyPackage(_)))
                }
                (written, derived) => panic!("{written:?} but derived {derived:?}"),
            }
        }
    }

    /// A large tree, parents with unmerged leaves among its nodes: the
    /// same bytes.
    #[test]
    fn a_large_tree_encodes_as_derived() {
        let members: Vec<u32> = (0..2500).collect();
        let tree = super::super::tests::tree_of(4096, &members, &[(1, &[]), (4095, &[7, 3000])]);
        let derived = crate::codec::encode(&tree.to_nodes()).unwrap();
        assert_eq!(tree.encode().unwrap(), derived);
    }

    #[test]
    fn writers_match_the_derived_encoding() {
        let tree = committed_tree();
        let derived = crate::codec::encode(&tree.to_nodes()).unwrap();
        assert_eq!(tree.encode().unwrap(), derived);
        // Lengths of 1, 2 and 4 varint bytes: the empty tree, a small one
        // and one over 16 KiB.
        let members: Vec<u32> = (0..150).collect();
        let trees = [
            super::super::RatchetTree::default(),
            super::super::tests::tree_of(4, &[0, 2], &[]),
            super::super::tests::tree_of(256, &members, &[]),
        ];
        for (tree, varint_prefix) in trees.iter().zip([0, 1, 2]) {
            let derived = crate::codec::encode(&tree.to_nodes()).unwrap();
            assert_eq!(derived[0] >> 6, varint_prefix);
            assert_eq!(tree.encode().unwrap(), derived);
        }
        // The guess of the size covers a tree of like leaves (no copy on
        // the way) without reserving much more.
        let encoded = trees[2].encode().unwrap();
        let spare = encoded.capacity() - encoded.len();
        assert!(spare <= encoded.len() / 8, "{spare} spare for {}", encoded.len());
        // A large first leaf does not make the encoder reserve its size per
        // member: the guess is bounded.
        let mut tree = super::super::tests::tree_of(256, &members, &[]);
        let mut large = tree.leaf(crate::tree_math::LeafIndex(0)).unwrap().clone();
        large.credential = Credential::Basic(VLBytes::from(vec![7; 100_000]));
        tree.set_leaf(crate::tree_math::LeafIndex(0), large).unwrap();
        let encoded = tree.encode().unwrap();
        assert_eq!(encoded, crate::codec::encode(&tree.to_nodes()).unwrap());
        assert!(
            encoded.capacity() < 2 * encoded.len(),
            "{} for {}",
            encoded.capacity(),
            encoded.len()
        );
        let tree = committed_tree();
        for node in tree.to_nodes().into_iter().flatten() {
            assert_same(node);
        }
        assert_same(Node::Leaf(kp_leaf(3)));
        assert_same(Node::Leaf(update_leaf(4, 4, 2)));
        assert_same(Node::Parent(parent(7, vec![1, 2, 70_000])));
        let mut odd = kp_leaf(5);
        odd.leaf_node_source = LeafNodeSource::Commit(VLBytes::from(vec![9; 100]));
        odd.credential = Credential::X509(Vec::new());
        odd.capabilities = Capabilities {
            versions: vec![ProtocolVersion(1), ProtocolVersion(0x0a0a)],
            cipher_suites: (0..40).map(CipherSuite).collect(),
            extensions: vec![ExtensionType(0x1a1a)],
            proposals: vec![ProposalType(0x2a2a), ProposalType(7)],
            credentials: vec![CredentialType::BASIC, CredentialType::X509],
        };
        odd.extensions = vec![
            Extension {
                extension_type: ExtensionType(0x3a3a),
                extension_data: VLBytes::from(vec![1; 70]),
            },
            Extension {
                extension_type: ExtensionType(5),
                extension_data: VLBytes::default(),
            },
        ];
        odd.signature = VLBytes::from(vec![0x55; 20_000]);
        assert_same(Node::Leaf(odd));
    }
}
