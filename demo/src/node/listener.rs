//! Inbound connections: peer links (TLS, a `Hello`, then messages) and client requests
//! (plain JSON lines from `status` and `admin` on this machine), as events.
//!
//! One thread per connection reads lines and hands them to the node's single event loop, so
//! all consensus state lives on one thread. The first byte tells the two apart: a TLS
//! handshake starts with 0x16, a request with `{`. A peer link without TLS is refused.

use std::io::{BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc::{self, Sender};
use std::thread;
use std::time::Duration;

use crate::logger::Logger;
use crate::node::message::{read_line, to_line, Hello, Message, Opening, Request, Response};
use crate::node::tls::PeerTls;

/// The first byte of a TLS record carrying a handshake.
const TLS_HANDSHAKE: u8 = 0x16;

/// A peer silent this long is gone (it sends heartbeats every 200 ms).
const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a client request may wait for the event loop's answer.
const REPLY_TIMEOUT: Duration = Duration::from_secs(5);

pub enum Event {
    Hello(Hello),
    Peer {
        from: String,
        msg: Message,
    },
    Rpc {
        req: Request,
        reply: Sender<Response>,
    },
}

/// Accepts connections on `listener` for as long as the process lives.
pub fn spawn(
    listener: TcpListener,
    chain_id: String,
    tls: PeerTls,
    events: Sender<Event>,
    log: Logger,
) {
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let (events, chain_id, log, tls) =
                (events.clone(), chain_id.clone(), log.clone(), tls.clone());
            thread::spawn(move || serve(stream, &chain_id, &tls, &events, &log));
        }
    });
}

fn serve(stream: TcpStream, chain_id: &str, tls: &PeerTls, events: &Sender<Event>, log: &Logger) {
    if stream.set_read_timeout(Some(READ_TIMEOUT)).is_err() {
        return;
    }
    let mut first = [0u8; 1];
    if matches!(stream.peek(&mut first), Ok(1)) && first[0] == TLS_HANDSHAKE {
        peer_link(stream, chain_id, tls, events, log);
    } else {
        request(stream, log, events);
    }
}

/// A peer link: the TLS handshake (its certificate checked against the chain CA), a
/// `Hello` whose node id is its certificate's, then messages until it closes.
fn peer_link(
    stream: TcpStream,
    chain_id: &str,
    tls: &PeerTls,
    events: &Sender<Event>,
    log: &Logger,
) {
    let from_addr = stream
        .peer_addr()
        .map_or_else(|_| "?".to_owned(), |a| a.to_string());
    let (link, cert_id) = match tls.accept(stream) {
        Ok(accepted) => accepted,
        Err(e) => {
            log.warn("P2P", format!("refused a peer link from {from_addr}: {e}"));
            return;
        }
    };
    let mut reader = BufReader::new(link);
    let Ok(Some(first)) = read_line(&mut reader) else {
        return;
    };
    let Ok(Opening::Hello(hello)) = serde_json::from_slice::<Opening>(&first) else {
        log.warn(
            "P2P",
            format!("refused a peer link from {from_addr}: it did not say hello"),
        );
        return;
    };
    if hello.chain_id != chain_id {
        log.warn(
            "P2P",
            format!(
                "refused {} at {}: it belongs to another chain",
                hello.name, hello.addr
            ),
        );
        return;
    }
    if hello.node_id != cert_id {
        log.warn(
            "P2P",
            format!(
                "refused {} at {}: its certificate is not for the node id it claims",
                hello.name, hello.addr
            ),
        );
        return;
    }
    let from = hello.node_id.clone();
    if events.send(Event::Hello(hello)).is_err() {
        return;
    }
    while let Ok(Some(line)) = read_line(&mut reader) {
        let Ok(msg) = serde_json::from_slice::<Message>(&line) else {
            log.warn("P2P", "dropped a link that sent an unreadable message");
            return;
        };
        let event = Event::Peer {
            from: from.clone(),
            msg,
        };
        if events.send(event).is_err() {
            return;
        }
    }
}

/// A client request in plain JSON (`status`, `admin`), answered on the same connection.
fn request(stream: TcpStream, log: &Logger, events: &Sender<Event>) {
    let Ok(writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    let Ok(Some(first)) = read_line(&mut reader) else {
        return;
    };
    match serde_json::from_slice::<Opening>(&first) {
        Ok(Opening::Hello(hello)) => {
            log.warn(
                "P2P",
                format!(
                    "refused {} at {}: a peer link must use TLS",
                    hello.name, hello.addr
                ),
            );
        }
        Ok(Opening::Request(req)) => answer(writer, req, events),
        Err(e) => {
            let reply = Response::Error {
                message: format!("unreadable request: {e}"),
            };
            let mut writer = writer;
            let _ = writer.write_all(to_line(&reply).as_bytes());
        }
    }
}

fn answer(mut writer: TcpStream, req: Request, events: &Sender<Event>) {
    let (reply, answer) = mpsc::channel();
    let response = if events.send(Event::Rpc { req, reply }).is_ok() {
        answer
            .recv_timeout(REPLY_TIMEOUT)
            .unwrap_or(Response::Error {
                message: "the node did not answer in time".into(),
            })
    } else {
        Response::Error {
            message: "the node is shutting down".into(),
        }
    };
    let _ = writer.write_all(to_line(&response).as_bytes());
}
