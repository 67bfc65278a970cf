//! What survives a restart, on disk: one file for the client (its MLS
//! state with the private keys of its unused KeyPackages, and its mailbox
//! position) and one per group (the group's MLS state and the position read
//! up to, in one file so they never disagree). Every file is replaced
//! atomically (written to a temporary file, then renamed), so a crash
//! leaves either the old or the new version, never half of one.

use std::io::Write;
use std::path::{Path, PathBuf};

use reference_server::wire::b64;
use serde::{Deserialize, Serialize};

/// The client's file.
#[derive(Serialize, Deserialize)]
pub struct SavedClient {
    /// `e2ee_core::Client::export_state`.
    #[serde(with = "b64")]
    pub mls: Vec<u8>,
    /// The last mailbox position handled.
    pub mailbox: u64,
    /// The group messages are sent to.
    pub current: Option<String>,
}

/// One group's file.
#[derive(Serialize, Deserialize)]
pub struct SavedGroup {
    /// Its name (the group id as text).
    pub name: String,
    /// The last log position handled: the stream resumes after it.
    pub position: u64,
    /// Positions of own posts whose echo has not come back yet (they are
    /// skipped, not opened: a member cannot open its own messages).
    pub own: Vec<u64>,
    /// `e2ee_core::Group::export_state`, matching `position`.
    #[serde(with = "b64")]
    pub mls: Vec<u8>,
}

/// The state directory of one identity.
pub struct StateDir {
    dir: PathBuf,
}

/// The default directory of `name`: under the user's data directory
/// (`$XDG_DATA_HOME`, else `~/.local/share`), else `./.e2ee-cli-chat`.
pub fn default_dir(name: &str) -> PathBuf {
    let data = std::env::var_os("XDG_DATA_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local").join("share")));
    match data {
        Some(data) => data.join("e2ee-cli-chat").join(name),
        None => PathBuf::from(".e2ee-cli-chat").join(name),
    }
}

impl StateDir {
    /// Opens (creating) `dir`.
    pub fn open(dir: PathBuf) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir.join("groups"))?;
        Ok(Self { dir })
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    fn group_path(&self, group_id: &[u8]) -> PathBuf {
        // Hex: any group id makes a safe file name.
        self.dir.join("groups").join(format!("{}.json", hex::encode(group_id)))
    }

    /// The client's file, if there is one.
    pub fn load_client(&self) -> std::io::Result<Option<SavedClient>> {
        read_json(&self.dir.join("client.json"))
    }

    /// Replaces the client's file.
    pub fn save_client(&self, client: &SavedClient) -> std::io::Result<()> {
        write_atomically(&self.dir.join("client.json"), client)
    }

    /// Every group's file.
    pub fn load_groups(&self) -> std::io::Result<Vec<SavedGroup>> {
        let mut groups = Vec::new();
        for entry in std::fs::read_dir(self.dir.join("groups"))? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "json")
                && let Some(group) = read_json(&path)?
            {
                groups.push(group);
            }
        }
        Ok(groups)
    }

    /// Replaces one group's file.
    pub fn save_group(&self, group_id: &[u8], group: &SavedGroup) -> std::io::Result<()> {
        write_atomically(&self.group_path(group_id), group)
    }

    /// Forgets a group (this client was removed from it).
    pub fn remove_group(&self, group_id: &[u8]) -> std::io::Result<()> {
        match std::fs::remove_file(self.group_path(group_id)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> std::io::Result<Option<T>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Writes `value` to a temporary file next to `path` (readable by the
/// owner only: it holds private keys), syncs it and renames it over `path`.
fn write_atomically(path: &Path, value: &impl Serialize) -> std::io::Result<()> {
    let bytes = serde_json::to_vec(value).map_err(std::io::Error::other)?;
    let temp = path.with_extension("json.tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&temp)?;
    file.write_all(&bytes)?;
    file.sync_all()?;
    std::fs::rename(&temp, path)
}
