//! Outbound links: this node dials every address it knows and sends its messages on them.
//!
//! Each link carries messages one way; a peer answers on the link it dialed to us. A link
//! that fails a write is dropped and dialed again on the next round of dialing. Links are
//! TLS (see `tls`): a peer whose certificate the chain CA did not issue gets none.

use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use crate::logger::Logger;
use crate::node::message::{to_line, Message};
use crate::node::tls::{OutLink, PeerTls};

const CONNECT_TIMEOUT: Duration = Duration::from_millis(300);
/// A peer that does not read for this long (stopped, not dead) loses its link.
const WRITE_TIMEOUT: Duration = Duration::from_millis(500);
/// Least time between two dials of one address.
const REDIAL: Duration = Duration::from_millis(500);

pub struct Links {
    hello_line: String,
    own_addr: String,
    book: BTreeSet<String>,
    streams: HashMap<String, OutLink>,
    tls: PeerTls,
    /// The last TLS failure logged per address: the same one is not logged every redial.
    refused: HashMap<String, String>,
    last_dial: HashMap<String, Instant>,
    log: Logger,
}

impl Links {
    /// `hello_line` opens every link; `peers` are the addresses from config.ini.
    pub fn new(
        hello_line: String,
        own_addr: &str,
        peers: &[String],
        tls: PeerTls,
        log: Logger,
    ) -> Self {
        let mut links = Self {
            hello_line,
            own_addr: own_addr.to_string(),
            book: BTreeSet::new(),
            streams: HashMap::new(),
            tls,
            refused: HashMap::new(),
            last_dial: HashMap::new(),
            log,
        };
        for peer in peers {
            links.learn(peer);
        }
        links
    }

    /// Adds an address to dial (a peer that dialed us, or one from config.ini).
    pub fn learn(&mut self, addr: &str) {
        if addr != self.own_addr {
            self.book.insert(addr.to_string());
        }
    }

    /// Drops the link to `addr` (its process restarted: the old socket is dead).
    pub fn reset(&mut self, addr: &str) {
        self.streams.remove(addr);
        self.last_dial.remove(addr);
    }

    /// Dials every known address without a link, at most once per `REDIAL` each.
    pub fn dial_missing(&mut self, now: Instant) {
        let missing: Vec<String> = self
            .book
            .iter()
            .filter(|a| !self.streams.contains_key(*a))
            .filter(|a| {
                self.last_dial
                    .get(*a)
                    .is_none_or(|t| now.duration_since(*t) >= REDIAL)
            })
            .cloned()
            .collect();
        for addr in missing {
            self.dial(&addr, now);
        }
    }

    pub fn dial(&mut self, addr: &str, now: Instant) {
        if self.streams.contains_key(addr) {
            return;
        }
        self.last_dial.insert(addr.to_string(), now);
        let Some(target) = addr.to_socket_addrs().ok().and_then(|mut a| a.next()) else {
            self.log
                .warn("P2P", format!("cannot resolve peer address {addr}"));
            return;
        };
        let Ok(tcp) = TcpStream::connect_timeout(&target, CONNECT_TIMEOUT) else {
            return;
        };
        // The handshake reads too: a peer that does not answer gives up within the timeout.
        let ready = tcp
            .set_nodelay(true)
            .and_then(|()| tcp.set_write_timeout(Some(WRITE_TIMEOUT)))
            .and_then(|()| tcp.set_read_timeout(Some(WRITE_TIMEOUT)));
        if ready.is_err() {
            return;
        }
        let host = target.ip().to_string();
        let mut stream = match self.tls.connect(&host, tcp) {
            Ok(stream) => stream,
            Err(e) => {
                let why = e.to_string();
                if self.refused.get(addr) != Some(&why) {
                    self.log
                        .warn("P2P", format!("no TLS link to {addr}: {why}"));
                    self.refused.insert(addr.to_string(), why);
                }
                return;
            }
        };
        self.refused.remove(addr);
        let hello = stream
            .write_all(self.hello_line.as_bytes())
            .and_then(|()| stream.flush());
        if hello.is_ok() {
            self.streams.insert(addr.to_string(), stream);
        }
    }

    pub fn broadcast(&mut self, msg: &Message) {
        let line = to_line(msg);
        let addrs: Vec<String> = self.streams.keys().cloned().collect();
        for addr in addrs {
            self.write(&addr, &line);
        }
    }

    pub fn send(&mut self, addr: &str, msg: &Message) {
        self.write(addr, &to_line(msg));
    }

    fn write(&mut self, addr: &str, line: &str) {
        let Some(stream) = self.streams.get_mut(addr) else {
            return;
        };
        if stream
            .write_all(line.as_bytes())
            .and_then(|()| stream.flush())
            .is_err()
        {
            self.streams.remove(addr);
        }
    }
}
