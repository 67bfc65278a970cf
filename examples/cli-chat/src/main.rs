//! `cli-chat`: a terminal chat on the reference delivery service. See
//! README.md for the commands.
#![forbid(unsafe_code)]

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

use clap::Parser;
use e2ee_core::{Event, Group};
use reference_server::client::{Error, LiveEvent, Peer};
use reference_server::wire::{MailboxItem, Post, PublishKeyPackages, b64};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, BufReader};

#[derive(Parser, Debug)]
#[command(name = "cli-chat", about = "Terminal chat over the e2ee delivery service")]
struct Args {
    /// Your name (the identity of your credential).
    #[arg(long, env = "E2EE_CHAT_NAME")]
    name: String,
    /// The service.
    #[arg(long, env = "E2EE_CHAT_SERVER", default_value = "http://127.0.0.1:8080")]
    server: String,
    /// Where your state is kept (default ~/.e2ee-chat/NAME.json).
    #[arg(long, env = "E2EE_CHAT_STATE")]
    state: Option<PathBuf>,
}

/// What survives a restart.
#[derive(Default, Serialize, Deserialize)]
struct Saved {
    #[serde(with = "b64")]
    signature_key: Vec<u8>,
    /// Group name → (group id, last position read).
    groups: BTreeMap<String, (String, u64)>,
    mailbox: u64,
}

struct Chat {
    peer: Peer,
    live: reference_server::client::Live,
    groups: BTreeMap<String, Group>,
    /// Positions of what this client posted: their echoes are skipped.
    own: HashSet<(Vec<u8>, u64)>,
    current: Option<String>,
    saved: Saved,
    path: PathBuf,
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
    fn save(&self) {
        let text = serde_json::to_string_pretty(&self.saved).unwrap_or_default();
        if let Err(e) = std::fs::write(&self.path, text) {
            println!("! cannot save state to {}: {e}", self.path.display());
        }
    }

    async fn track(&mut self, name: &str, group: Group, after: u64) {
        self.live.subscribe(group.id(), after).await;
        self.saved
            .groups
            .insert(name.to_owned(), (b64::encode(group.id()), after));
        self.groups.insert(name.to_owned(), group);
        self.current = Some(name.to_owned());
        self.save();
    }

    async fn command(&mut self, line: &str) -> Result<bool, Error> {
        let (verb, arg) = line.split_once(' ').map_or((line, ""), |(v, a)| (v, a.trim()));
        match verb {
            "/quit" => return Ok(false),
            "/create" if !arg.is_empty() => {
                let group = self.peer.mls.create_group_with_id(arg.as_bytes())?;
                self.peer.ds.create_group(group.id(), true).await?;
                self.track(arg, group, 0).await;
                println!("* created {arg}");
            }
            "/join" if !arg.is_empty() => {
                self.join_by_name(arg).await?;
                println!("* joined {arg}");
            }
            "/add" | "/remove" if !arg.is_empty() => {
                let Some(name) = self.current.clone() else {
                    return Ok(self.no_group());
                };
                let group = self.groups.get_mut(&name).expect("current group exists");
                let position = if verb == "/add" {
                    self.peer.add(group, &[arg]).await?
                } else {
                    let Some(member) = group.members().into_iter().find(|m| m.identity == arg.as_bytes()) else {
                        println!("! {arg} is not in {name}");
                        return Ok(true);
                    };
                    let bundle = group.remove(&[member.index])?;
                    self.peer.commit(group, bundle).await?
                };
                self.own.insert((group.id().to_vec(), position));
                println!("* {verb} {arg}: done (epoch {})", group.epoch());
            }
            "/switch" if self.groups.contains_key(arg) => self.current = Some(arg.to_owned()),
            "/groups" => println!(
                "* groups: {}",
                self.groups.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
            "/members" => match self.current.as_ref().and_then(|n| self.groups.get(n)) {
                Some(group) => println!("* members: {}", names(&group.members())),
                None => return Ok(self.no_group()),
            },
            _ if line.starts_with('/') => println!("! unknown command or missing argument: {line}"),
            _ => {
                let Some(name) = self.current.clone() else {
                    return Ok(self.no_group());
                };
                let group = self.groups.get_mut(&name).expect("current group exists");
                let post = Post {
                    message: group.seal(line.as_bytes(), b"")?,
                    ..Post::default()
                };
                let position = self.live.send(group.id(), post).await?;
                self.own.insert((group.id().to_vec(), position));
            }
        }
        Ok(true)
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
        self.own.insert((group.id().to_vec(), position));
        self.track(name, group, position).await;
        Ok(())
    }

    async fn welcome(&mut self, item: MailboxItem) {
        self.saved.mailbox = item.position;
        let name = name_of(&item.group_id);
        match self.peer.join(&item) {
            Ok(group) => {
                println!("* you were added to {name} ({})", names(&group.members()));
                self.track(&name, group, item.commit_position).await;
            }
            Err(e) => println!("! a Welcome to {name} could not be used: {e}"),
        }
        self.save();
    }

    fn message(&mut self, group_id: Vec<u8>, position: u64, message: &[u8]) {
        let name = name_of(&group_id);
        if let Some((_, read)) = self.saved.groups.get_mut(&name) {
            *read = position;
        }
        if self.own.remove(&(group_id, position)) {
            return;
        }
        let Some(group) = self.groups.get_mut(&name) else {
            return;
        };
        let events = match group.open(message) {
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
                    }
                }
                Event::CommitLost { .. } => println!("! [{name}] another change won; try again"),
                _ => {}
            }
        }
    }
}

async fn run(args: Args) -> Result<(), Error> {
    let path = args.state.clone().unwrap_or_else(|| {
        let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
        home.join(".e2ee-chat").join(format!("{}.json", args.name))
    });
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let saved: Saved = std::fs::read(&path)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default();
    let mls = match saved.signature_key.is_empty() {
        true => e2ee_core::Client::new(1, args.name.as_bytes())?,
        false => e2ee_core::Client::with_signature_key(1, args.name.as_bytes(), &saved.signature_key)?,
    };
    let mut peer = Peer::login(&args.server, mls, 0).await?;
    // Fresh KeyPackages on every start, replacing the unclaimed ones: the
    // previous run's private keys are gone.
    let fresh = (0..5).map(|_| peer.mls.key_package()).collect::<Result<Vec<_>, _>>()?;
    let upload = PublishKeyPackages {
        key_packages: fresh,
        last_resort: None,
        replace: true,
    };
    peer.ds.upload_key_packages(&upload).await?;
    let live = peer.ds.live();
    let mut chat = Chat {
        saved: Saved {
            signature_key: peer.mls.signature_private_key().to_vec(),
            ..saved
        },
        peer,
        live,
        groups: BTreeMap::new(),
        own: HashSet::new(),
        current: None,
        path,
    };
    chat.live.subscribe_mailbox(chat.saved.mailbox).await;
    chat.save();
    // e2ee-core cannot save a group's MLS state yet, and rejoining by
    // external Commit with the same signature key needs a resync (removing
    // the old leaf) that its high-level API does not offer: a member must
    // remove and re-add this client.
    let lost: Vec<String> = std::mem::take(&mut chat.saved.groups).into_keys().collect();
    for name in &lost {
        println!(
            "* lost the keys of {name}: ask a member to /remove and /add {}",
            args.name
        );
    }
    chat.save();
    println!("ready: {} on {} (type /create NAME to start)", args.name, args.server);
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
    chat.save();
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
