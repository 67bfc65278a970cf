//! Copy-on-write storage for the tree's per-node data.
//!
//! A [`ChunkedVec`] keeps its elements in fixed-size chunks behind [`Arc`]s.
//! Cloning it copies only the chunk pointers (about n / 64 reference count
//! increments), and changing an element copies only its chunk, and only if
//! another clone still shares that chunk. A Commit is applied to a clone of
//! the group's tree (so a rejected Commit leaves the group untouched); with
//! this storage that clone costs O(n / 64) and the Commit's changes, which
//! follow a few direct paths, copy O(log n) chunks.

use alloc::sync::Arc;
use alloc::vec::Vec;

/// Elements per chunk.
pub(crate) const CHUNK: usize = 64;

/// A vector of `T` in shared, copy-on-write chunks of [`CHUNK`] elements.
/// Every chunk but the last is full.
#[derive(Debug)]
pub(crate) struct ChunkedVec<T> {
    chunks: Vec<Arc<Vec<T>>>,
    len: usize,
}

impl<T> Clone for ChunkedVec<T> {
    fn clone(&self) -> Self {
        Self {
            chunks: self.chunks.clone(),
            len: self.len,
        }
    }
}

impl<T> Default for ChunkedVec<T> {
    fn default() -> Self {
        Self {
            chunks: Vec::new(),
            len: 0,
        }
    }
}

impl<T: PartialEq> PartialEq for ChunkedVec<T> {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len
            && (self.chunks.iter().zip(&other.chunks)).all(|(a, b)| Arc::ptr_eq(a, b) || a.as_slice() == b.as_slice())
    }
}

impl<T: Clone> From<Vec<T>> for ChunkedVec<T> {
    fn from(items: Vec<T>) -> Self {
        let len = items.len();
        let mut chunks = Vec::with_capacity(len.div_ceil(CHUNK));
        let mut items = items.into_iter();
        while chunks.len() * CHUNK < len {
            chunks.push(Arc::new(items.by_ref().take(CHUNK).collect()));
        }
        Self { chunks, len }
    }
}

impl<T: Clone> ChunkedVec<T> {
    /// The positions below `len.max(other.len)` where `self` and `other`
    /// may differ: every position of chunks they do not share (the caller
    /// compares those), so a tree derived from another costs only its
    /// copied chunks.
    pub(crate) fn unshared<'a>(&'a self, other: &'a Self) -> impl Iterator<Item = usize> + 'a {
        let n = self.chunks.len().max(other.chunks.len());
        let shared = move |c: usize| match (self.chunks.get(c), other.chunks.get(c)) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        };
        let len = self.len.max(other.len);
        (0..n)
            .filter(move |&c| !shared(c))
            .flat_map(move |c| (c * CHUNK)..((c + 1) * CHUNK).min(len))
    }

    /// The number of elements.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The element at `i`.
    pub(crate) fn get(&self, i: usize) -> Option<&T> {
        if i >= self.len {
            return None;
        }
        self.chunks.get(i / CHUNK)?.get(i % CHUNK)
    }

    /// The element at `i`, for changing; copies its chunk first if another
    /// clone shares it.
    pub(crate) fn get_mut(&mut self, i: usize) -> Option<&mut T> {
        if i >= self.len {
            return None;
        }
        Arc::make_mut(self.chunks.get_mut(i / CHUNK)?).get_mut(i % CHUNK)
    }

    /// The elements in order.
    pub(crate) fn iter(&self) -> impl DoubleEndedIterator<Item = &T> + Clone {
        self.chunks.iter().flat_map(|c| c.iter())
    }

    /// Grows with copies of `value`, or shrinks, to `len` elements.
    pub(crate) fn resize(&mut self, len: usize, value: T) {
        if len <= self.len {
            self.truncate(len);
            return;
        }
        while self.len < len {
            if self.chunks.last().is_none_or(|c| c.len() == CHUNK) {
                self.chunks
                    .push(Arc::new(Vec::with_capacity(CHUNK.min(len - self.len))));
            }
            if let Some(last) = self.chunks.last_mut() {
                let last = Arc::make_mut(last);
                let n = (CHUNK - last.len()).min(len - self.len);
                last.extend(core::iter::repeat_n(value.clone(), n));
                self.len += n;
            }
        }
    }

    /// Keeps the first `len` elements.
    pub(crate) fn truncate(&mut self, len: usize) {
        if len >= self.len {
            return;
        }
        self.chunks.truncate(len.div_ceil(CHUNK));
        if let Some(last) = self.chunks.last_mut()
            && !len.is_multiple_of(CHUNK)
        {
            Arc::make_mut(last).truncate(len % CHUNK);
        }
        self.len = len;
    }

    /// The index of the last element for which `f(index, element)` holds.
    pub(crate) fn rposition(&self, f: impl Fn(usize, &T) -> bool) -> Option<usize> {
        let indexed = self.chunks.iter().enumerate().rev().flat_map(|(c, chunk)| {
            let at = move |(i, t)| (c * CHUNK + i, t);
            chunk.iter().enumerate().rev().map(at)
        });
        indexed.filter(|(i, t)| f(*i, t)).map(|(i, _)| i).next()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaves_like_a_vec() {
        let mut v: ChunkedVec<u32> = ChunkedVec::default();
        let mut model: Vec<u32> = Vec::new();
        for (step, len) in [1usize, 64, 65, 200, 130, 128, 3, 0, 300, 64].into_iter().enumerate() {
            v.resize(len, step as u32);
            model.resize(len, step as u32);
            assert_eq!(v.len(), model.len());
            assert!(v.iter().eq(model.iter()), "after resizing to {len}");
            if len > 10 {
                *v.get_mut(len - 7).unwrap() = 999;
                model[len - 7] = 999;
            }
            assert_eq!(v.rposition(|_, x| *x == 999), model.iter().rposition(|x| *x == 999));
            assert_eq!(v.get(len), None);
        }
        let w = ChunkedVec::from(model.clone());
        assert!(w == v && w.iter().eq(model.iter()));
    }

    #[test]
    fn clones_share_until_written() {
        let a = ChunkedVec::from((0..200u32).collect::<Vec<_>>());
        let mut b = a.clone();
        *b.get_mut(70).unwrap() = 7;
        assert_eq!(a.get(70), Some(&70));
        assert_eq!(b.get(70), Some(&7));
        assert!(Arc::ptr_eq(&a.chunks[0], &b.chunks[0]));
        assert!(!Arc::ptr_eq(&a.chunks[1], &b.chunks[1]));
        assert!(a != b);
        // Only the copied chunk is visited when looking for differences.
        assert!(a.unshared(&b).eq(64..128));
        b.resize(300, 0);
        assert!(a.unshared(&b).eq((64..128).chain(192..300)));
    }
}
