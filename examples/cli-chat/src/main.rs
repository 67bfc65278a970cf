//! `cli-chat`: a terminal chat on the reference delivery service. See
//! README.md for the commands.
#![forbid(unsafe_code)]

mod state;

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

use clap::Parser;
use e2ee_core::client::{ExternalJoins, GroupOptions};
use e2ee_core::{Event, Group};
use e2ee_testkit::client::{Error, LiveEvent, Peer};
use reference_server::wire::{MailboxItem, Post, PublishKeyPackages};
use state::{SavedClient, SavedGroup, StateDir};
use tokio::io::{AsyncBufReadExt, BufReader};

/// KeyPackages kept published, so others can add this client.
const KEY_PACKAGES: usize = 5;

#[derive(Parser, Debug)]
#[command(name = "cli-chat", about = "Terminal chat over the e2ee delivery service")]
struct Args {
    /// Your name (the identity of your credential).
    #[arg(long, env = "E2EE_CHAT_NAME")]
    name: String,
    /// The service.
    #[arg(long, env = "E2EE_CHAT_SERVER", default_value = "http://127.0.0.1:8080")]
    server: String,
    /// Where your keys, groups and positions are kept (default: the user's
    /// data directory, ~/.local/share/e2ee-cli-chat/NAME).
    #[arg(long, env = "E2EE_CHAT_STATE_DIR")]
    state_dir: Option<PathBuf>,
}

/// A group this client is in, and how far it has read.
struct Tracked {
    group: Group,
    position: u64,
    /// Positions of what this client posted: their echoes are skipped.
    own: HashSet<u64>,
}

struct Chat {
    peer: Peer,
    live: e2ee_testkit::client::Live,
    groups: BTreeMap<String, Tracked>,
    current: Option<String>,
    mailbox: u64,
    disk: StateDir,
}

fn name_of(group_id: &[u8]) -> String {
    String::from_utf8_lossy(group_id).into_owned()
}

fn who(member: &Option<e2ee_core::client::Member>) -> String {
    member
        .as_ref()
        .map_or("someone".into(), |m| String::from_utf8_lossy(&m.identity).into_owned())
}

fn names(members: &[e2ee_core::client::Member]) -> String {
    let names: Vec<String> = members
        .iter()
        .map(|m| String::from_utf8_lossy(&m.identity).into_owned())
        .collect();
    names.join(", ")
}

impl Chat {
    /// Stores the client (its keys and mailbox position).
    fn save_client(&self) {
        let saved = self.peer.mls.export_state().map(|mls| SavedClient {
            mls,
            mailbox: self.mailbox,
            current: self.current.clone(),
        });
        let result = match saved {
            Ok(saved) => self.disk.save_client(&saved).map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = result {
            println!("! cannot save state to {}: {e}", self.disk.path().display());
        }
    }

    /// Stores group `name` (after every change of its MLS state or position).
    fn save_group(&self, name: &str) {
        let Some(t) = self.groups.get(name) else { return };
        let saved = t.group.export_state().map(|mls| SavedGroup {
            name: name.to_owned(),
            position: t.position,
            own: t.own.iter().copied().collect(),
            mls,
        });
        let result = match saved {
            Ok(saved) => self.disk.save_group(t.group.id(), &saved).map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = result {
            println!("! cannot save {name} to {}: {e}", self.disk.path().display());
        }
    }

    /// Starts following a group (new, or restored from disk) after `position`.
    async fn track(&mut self, name: &str, group: Group, position: u64, own: HashSet<u64>) {
        self.live.subscribe(group.id(), position).await;
        self.groups.insert(name.to_owned(), Tracked { group, position, own });
        self.save_group(name);
    }

    async fn command(&mut self, line: &str) -> Result<bool, Error> {
        let (verb, arg) = line.split_once(' ').map_or((line, ""), |(v, a)| (v, a.trim()));
        match verb {
            "/quit" => return Ok(false),
            "/create" if !arg.is_empty() => {
                let group = self.peer.mls.create_group_with_id(arg.as_bytes())?;
                self.peer.ds.create_group(group.id(), true).await?;
                self.track(arg, group, 0, HashSet::new()).await;
                self.switch(arg);
                println!("* created {arg}");
            }
            "/join" if !arg.is_empty() => {
                self.join_by_name(arg).await?;
                self.switch(arg);
                println!("* joined {arg}");
            }
            "/add" | "/remove" if !arg.is_empty() => {
                let Some(name) = self.current.clone() else {
                    return Ok(self.no_group());
                };
                let t = self.groups.get_mut(&name).expect("current group exists");
                let position = if verb == "/add" {
                    self.peer.add(&mut t.group, &[arg]).await?
                } else {
                    let Some(member) = t.group.members().into_iter().find(|m| m.identity == arg.as_bytes()) else {
                        println!("! {arg} is not in {name}");
                        return Ok(true);
                    };
                    let bundle = t.group.remove(&[member.index])?;
                    self.peer.commit(&mut t.group, bundle).await?
                };
                t.own.insert(position);
                let epoch = t.group.epoch();
                self.save_group(&name);
                println!("* {verb} {arg}: done (epoch {epoch})");
            }
            "/switch" if self.groups.contains_key(arg) => self.switch(arg),
            "/groups" => println!(
                "* groups: {}",
                self.groups.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
            "/members" => match self.current.as_ref().and_then(|n| self.groups.get(n)) {
                Some(t) => println!("* members: {}", names(&t.group.members())),
                None => return Ok(self.no_group()),
            },
            _ if line.starts_with('/') => println!("! unknown command or missing argument: {line}"),
            _ => {
                let Some(name) = self.current.clone() else {
                    return Ok(self.no_group());
                };
                let t = self.groups.get_mut(&name).expect("current group exists");
                let post = Post {
                    message: t.group.seal(line.as_bytes(), b"")?,
                    ..Post::default()
                };
                let group_id = t.group.id().to_vec();
                // Saved before sending: a restart must not reuse the
                // sending key the message consumed.
                self.save_group(&name);
                let position = self.live.send(&group_id, post).await?;
                if let Some(t) = self.groups.get_mut(&name) {
                    t.own.insert(position);
                }
                self.save_group(&name);
            }
        }
        Ok(true)
    }

    fn switch(&mut self, name: &str) {
        self.current = Some(name.to_owned());
        self.save_client();
    }

    fn no_group(&self) -> bool {
        println!("! no group yet: /create NAME or /join NAME");
        true
    }

    /// Joins the group `name` by external Commit.
    async fn join_by_name(&mut self, name: &str) -> Result<(), Error> {
        let group_info = self.peer.ds.group_info(name.as_bytes()).await?;
        let (group, commit) = self.peer.mls.join_external(&group_info)?;
        let post = Post {
            message: commit,
            group_info: Some(group.group_info()?),
            ..Post::default()
        };
        let position = self.peer.ds.post(group.id(), &post).await?;
        self.track(name, group, position, HashSet::from([position])).await;
        Ok(())
    }

    async fn welcome(&mut self, item: MailboxItem) {
        let name = name_of(&item.group_id);
        match self.peer.join(&item) {
            Ok(group) => {
                println!("* you were added to {name} ({})", names(&group.members()));
                // The group first, then the client with the mailbox
                // position: a crash in between handles the Welcome again
                // (its KeyPackage is still in the client's old state).
                self.track(&name, group, item.commit_position, HashSet::new()).await;
                self.current = Some(name);
            }
            Err(e) => println!("! a Welcome to {name} could not be used: {e}"),
        }
        self.mailbox = item.position;
        self.save_client();
    }

    fn message(&mut self, group_id: Vec<u8>, position: u64, message: &[u8]) {
        let name = name_of(&group_id);
        let Some(t) = self.groups.get_mut(&name) else {
            return;
        };
        t.position = position;
        if t.own.remove(&position) {
            return self.save_group(&name);
        }
        let events = t.group.open(message);
        self.save_group(&name);
        let events = match events {
            Ok(events) => events,
            Err(e) => return println!("! [{name}] unreadable message at {position}: {e}"),
        };
        for event in events {
            match event {
                Event::Message { sender, data, .. } => println!(
                    "[{name}] {}: {}",
                    String::from_utf8_lossy(&sender.identity),
                    String::from_utf8_lossy(&data)
                ),
                Event::EpochChanged {
                    committer,
                    added,
                    removed,
                    self_removed,
                    ..
                } => {
                    if !added.is_empty() {
                        println!("* [{name}] {} added {}", who(&committer), names(&added));
                    }
                    if !removed.is_empty() {
                        println!("* [{name}] {} removed {}", who(&committer), names(&removed));
                    }
                    if self_removed {
                        println!("* [{name}] you were removed");
                        self.forget(&name);
                    }
                }
                Event::CommitLost { .. } => println!("! [{name}] another change won; try again"),
                _ => {}
            }
        }
    }

    /// Drops a group this client is no longer in.
    fn forget(&mut self, name: &str) {
        if let Some(t) = self.groups.remove(name)
            && let Err(e) = self.disk.remove_group(t.group.id())
        {
            println!("! cannot forget {name}: {e}");
        }
        if self.current.as_deref() == Some(name) {
            self.current = self.groups.keys().next().cloned();
            self.save_client();
        }
    }
}

/// The saved client of `name`, or a new one (saved at once), with this
/// chat's group options.
fn load_client(disk: &StateDir, name: &str) -> Result<(e2ee_core::Client, Option<SavedClient>), Error> {
    let (mut mls, saved) = saved_or_new_client(disk, name)?;
    // Groups here are open: anyone may `/join` one by name. The reference
    // server admits such a join only from the identity the joiner's key is
    // bound to; members take its word for that (see the README).
    mls.set_group_options(GroupOptions {
        external_joins: ExternalJoins::Allow,
        ..GroupOptions::default()
    })?;
    Ok((mls, saved))
}

fn saved_or_new_client(disk: &StateDir, name: &str) -> Result<(e2ee_core::Client, Option<SavedClient>), Error> {
    let state = |e: std::io::Error| Error::Transport(format!("state in {}: {e}", disk.path().display()));
    match disk.load_client().map_err(state)? {
        Some(saved) => {
            let mls = e2ee_core::Client::restore_state(&saved.mls)?;
            if mls.identity() != name.as_bytes() {
                return Err(Error::Transport(format!(
                    "{} holds the state of {}, not {name}",
                    disk.path().display(),
                    String::from_utf8_lossy(mls.identity())
                )));
            }
            Ok((mls, Some(saved)))
        }
        None => Ok((e2ee_core::Client::new(1, name.as_bytes())?, None)),
    }
}

async fn run(args: Args) -> Result<(), Error> {
    let dir = args.state_dir.clone().unwrap_or_else(|| state::default_dir(&args.name));
    let disk = StateDir::open(dir).map_err(|e| Error::Transport(format!("state directory: {e}")))?;
    let (mls, saved) = load_client(&disk, &args.name)?;
    let restored = saved.is_some();
    let peer = Peer::login(&args.server, mls, 0).await?;
    let live = peer.ds.live();
    let mut chat = Chat {
        peer,
        live,
        groups: BTreeMap::new(),
        current: saved.as_ref().and_then(|s| s.current.clone()),
        mailbox: saved.as_ref().map_or(0, |s| s.mailbox),
        disk,
    };
    // Top up the published KeyPackages. The client is saved with their
    // private keys before they are published, so a Welcome to any of them
    // can be used after a restart; a new identity replaces whatever an
    // earlier, lost state left on the service.
    // A new identity also publishes a last-resort KeyPackage, which the
    // service hands out once the others are gone: whoever claims them all
    // cannot keep this client out of groups.
    let missing = KEY_PACKAGES.saturating_sub(chat.peer.mls.unused_key_packages());
    let fresh = (0..missing)
        .map(|_| chat.peer.mls.key_package())
        .collect::<Result<Vec<_>, _>>()?;
    let last_resort = (!restored)
        .then(|| chat.peer.mls.last_resort_key_package())
        .transpose()?;
    chat.save_client();
    if !fresh.is_empty() || !restored {
        let upload = PublishKeyPackages {
            key_packages: fresh,
            last_resort,
            replace: !restored,
        };
        chat.peer.ds.upload_key_packages(&upload).await?;
    }
    let groups = chat
        .disk
        .load_groups()
        .map_err(|e| Error::Transport(format!("state in {}: {e}", chat.disk.path().display())))?;
    for saved in groups {
        match chat.peer.mls.restore_group(&saved.mls) {
            Ok(group) => {
                let own = saved.own.into_iter().collect();
                chat.track(&saved.name, group, saved.position, own).await;
            }
            Err(e) => println!("! cannot restore {}: {e}", saved.name),
        }
    }
    if chat.current.as_ref().is_some_and(|c| !chat.groups.contains_key(c)) {
        chat.current = chat.groups.keys().next().cloned();
    }
    chat.live.subscribe_mailbox(chat.mailbox).await;
    let names: Vec<&str> = chat.groups.keys().map(String::as_str).collect();
    println!(
        "ready: {} on {} in {} (groups: {}; /create NAME to start one)",
        args.name,
        args.server,
        chat.disk.path().display(),
        if names.is_empty() {
            "none".into()
        } else {
            names.join(", ")
        }
    );
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    loop {
        tokio::select! {
            line = lines.next_line() => match line {
                Ok(Some(line)) if !line.trim().is_empty() => match chat.command(line.trim()).await {
                    Ok(true) => {}
                    Ok(false) => break,
                    Err(e) => println!("! {e}"),
                },
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            },
            event = chat.live.next() => match event {
                Some(LiveEvent::Message { group, position, message }) => chat.message(group, position, &message),
                Some(LiveEvent::Welcome(item)) => chat.welcome(item).await,
                Some(LiveEvent::Reconnecting) => println!("! connection lost, reconnecting"),
                Some(LiveEvent::Unsubscribed { group, error }) => println!("! [{}] {}", name_of(&group), error.message),
                Some(_) => {}
                None => break,
            },
        }
    }
    chat.save_client();
    Ok(())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run(Args::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cli-chat: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
