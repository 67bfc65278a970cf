//! Runner for `tree-math*.json`: root, left, right, parent and sibling of
//! every node of trees with 1 to 512 leaves (RFC 9420 Appendix C).

use serde_json::Value;

use e2ee_core::tree_math::{self, NodeIndex};

use super::common::{Runner, u64_field};

/// Checks every field of one case.
pub const RUNNER: Option<Runner> = Some(run);

fn run(case: &Value) -> Result<(), String> {
    let n = u32::try_from(u64_field(case, "n_leaves")?).map_err(|e| format!("n_leaves: {e}"))?;
    let width = tree_math::node_width(n).ok_or("node_width overflowed")?;
    let want_width = u64_field(case, "n_nodes")?;
    if u64::from(width) != want_width {
        return Err(format!("n_nodes: got {width}, want {want_width}"));
    }
    let root = tree_math::root(n).ok_or("no root")?;
    let want_root = u64_field(case, "root")?;
    if u64::from(root.0) != want_root {
        return Err(format!("root: got {}, want {want_root}", root.0));
    }
    check_array(case, "left", width, |x| x.left())?;
    check_array(case, "right", width, |x| x.right())?;
    check_array(case, "parent", width, |x| tree_math::parent(x, n))?;
    check_array(case, "sibling", width, |x| tree_math::sibling(x, n))
}

/// Compares `f(node)` with the array `key` for every node; JSON `null` means
/// the relation has no value.
fn check_array(case: &Value, key: &str, width: u32, f: impl Fn(NodeIndex) -> Option<NodeIndex>) -> Result<(), String> {
    let want = case
        .get(key)
        .and_then(Value::as_array)
        .ok_or_else(|| format!("missing array {key}"))?;
    if want.len() != width as usize {
        return Err(format!("{key}: {} entries for {width} nodes", want.len()));
    }
    for (x, w) in (0..width).zip(want) {
        let got = f(NodeIndex(x)).map(|n| u64::from(n.0));
        if got != w.as_u64() {
            return Err(format!("{key}[{x}]: got {got:?}, want {w}"));
        }
    }
    Ok(())
}
