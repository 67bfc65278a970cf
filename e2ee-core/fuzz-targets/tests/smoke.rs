//! The smoke run of every fuzz target, on stable Rust, in the test suite.
//!
//! Each target first runs on its seed corpus (`fuzz/corpus/TARGET/`, which
//! `python3 fuzz/seeds.py` writes from the IETF vectors and fuzzing runs
//! grow; another directory with `E2EE_FUZZ_CORPUS`), then on random
//! mutations of it (bits flipped, bytes set, inserted, deleted, spliced
//! from other inputs) until `E2EE_FUZZ_SECONDS` (default 1; the test
//! command uses 20) have passed. A panic fails the test and leaves the
//! input in the temporary directory, to replay with cargo-fuzz.
//!
//! This is no substitute for libFuzzer: it has no coverage guidance, so it
//! finds what lies a few mutations from the seeds. `scripts/fuzz.sh` runs
//! the same targets under libFuzzer.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::panic;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use e2ee_fuzz_targets::TARGETS;

/// The most seeds read per target, and the largest seed kept.
const MAX_SEEDS: usize = 20_000;
const MAX_SEED_LEN: usize = 1 << 20;

/// xorshift64*: fast and good enough to pick mutations.
struct Mutator(u64);

impl Mutator {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (0 when `n` is 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % (n.max(1) as u64)) as usize
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }

    /// `seed` with one to four mutations.
    fn mutate(&mut self, seed: &[u8], corpus: &[Vec<u8>]) -> Vec<u8> {
        let mut bytes = seed.to_vec();
        for _ in 0..=self.below(4) {
            self.mutate_once(&mut bytes, corpus);
        }
        bytes
    }

    fn mutate_once(&mut self, bytes: &mut Vec<u8>, corpus: &[Vec<u8>]) {
        let at = self.below(bytes.len());
        match self.below(6) {
            0 if !bytes.is_empty() => bytes[at] ^= 1 << self.below(8),
            1 if !bytes.is_empty() => bytes[at] = self.next() as u8,
            // Values where length prefixes and type codes change meaning.
            2 if !bytes.is_empty() => bytes[at] = [0x00, 0x01, 0x3f, 0x40, 0x7f, 0x80, 0xc0, 0xff][self.below(8)],
            3 if !bytes.is_empty() => {
                let len = 1 + self.below((bytes.len() - at).min(32));
                bytes.drain(at..at + len);
            }
            4 if !corpus.is_empty() => {
                let other = &corpus[self.below(corpus.len())];
                let from = self.below(other.len());
                let len = self.below((other.len() - from).min(256) + 1);
                let piece = other[from..from + len].to_vec();
                let at = self.below(bytes.len() + 1);
                bytes.splice(at..at, piece);
            }
            _ => {
                let len = 1 + self.below(16);
                let extra = self.bytes(len);
                let at = self.below(bytes.len() + 1);
                bytes.splice(at..at, extra);
            }
        }
    }
}

fn corpus_dir(target: &str) -> PathBuf {
    let root = match std::env::var_os("E2EE_FUZZ_CORPUS") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus"),
    };
    root.join(target)
}

/// The target's seeds, in a stable order; none if its corpus is missing.
fn seeds(target: &str) -> Vec<Vec<u8>> {
    let Ok(entries) = std::fs::read_dir(corpus_dir(target)) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| Some(e.ok()?.path())).collect();
    paths.sort();
    paths
        .iter()
        .filter_map(|p| std::fs::read(p).ok())
        .filter(|b| b.len() <= MAX_SEED_LEN)
        .take(MAX_SEEDS)
        .collect()
}

fn seconds() -> u64 {
    match std::env::var("E2EE_FUZZ_SECONDS") {
        Ok(s) => s.parse().expect("E2EE_FUZZ_SECONDS is a number of seconds"),
        Err(_) => 1,
    }
}

/// Runs `target` on `input`; a panic saves the input and fails the test.
fn run(name: &str, target: fn(&[u8]), input: &[u8]) {
    if panic::catch_unwind(|| target(input)).is_ok() {
        return;
    }
    let mut hasher = DefaultHasher::new();
    input.hash(&mut hasher);
    let path = std::env::temp_dir().join(format!("{name}-crash-{:016x}", hasher.finish()));
    std::fs::write(&path, input).expect("the failing input is saved");
    panic!(
        "{name} failed on the input in {0}; replay it with `cd fuzz && cargo +nightly fuzz run {name} {0}`",
        path.display()
    );
}

fn smoke(name: &str) {
    let target = TARGETS.iter().find(|(n, _)| *n == name).expect("a known target").1;
    let corpus = seeds(name);
    let deadline = Instant::now() + Duration::from_secs(seconds());
    let clock = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let seed = std::env::var("E2EE_FUZZ_SEED").ok().and_then(|s| s.parse().ok());
    let seed = seed.unwrap_or(clock.as_nanos() as u64) | 1;
    let mut mutator = Mutator(seed);
    let mut runs = 0u64;
    for input in &corpus {
        if Instant::now() >= deadline {
            break;
        }
        run(name, target, input);
        runs += 1;
    }
    while Instant::now() < deadline {
        let input = match corpus.is_empty() || mutator.below(16) == 0 {
            true => {
                let len = mutator.below(512);
                mutator.bytes(len)
            }
            false => {
                let seed = mutator.below(corpus.len());
                mutator.mutate(&corpus[seed], &corpus)
            }
        };
        run(name, target, &input);
        runs += 1;
    }
    eprintln!(
        "{name}: {runs} runs from {} seeds (E2EE_FUZZ_SEED={seed})",
        corpus.len()
    );
}

macro_rules! smoke_runs {
    ($($target:ident),* $(,)?) => {
        $(
            #[test]
            fn $target() {
                smoke(stringify!($target));
            }
        )*

        /// A new target gets its smoke run here too.
        #[test]
        fn every_target_has_a_smoke_run() {
            let here = [$(stringify!($target)),*];
            let all: Vec<&str> = TARGETS.iter().map(|(name, _)| *name).collect();
            assert_eq!(all, here);
        }
    };
}

smoke_runs!(
    decode_vlbytes,
    decode_mls_message,
    decode_key_package,
    decode_welcome,
    decode_group_info,
    decode_ratchet_tree,
    decode_commit,
    decode_proposal,
    open_in_live_group,
);

/// The mutator changes its input, and a panicking target fails the run.
#[test]
fn a_panicking_target_fails_the_smoke_run() {
    let mut mutator = Mutator(7);
    let seed = vec![0u8; 64];
    assert!((0..100).any(|_| mutator.mutate(&seed, &[]) != seed));
    let failed = panic::catch_unwind(|| run("self_check", |input| assert!(input.is_empty()), &[1]));
    assert!(failed.is_err());
}
