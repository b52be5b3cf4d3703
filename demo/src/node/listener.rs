//! Inbound connections: peer links (a `Hello`, then messages) and client requests, as events.
//!
//! One thread per connection reads lines and hands them to the node's single event loop, so
//! all consensus state lives on one thread.

use std::io::{BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc::{self, Sender};
use std::thread;
use std::time::Duration;

use crate::logger::Logger;
use crate::node::message::{read_line, to_line, Hello, Message, Opening, Request, Response};

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
pub fn spawn(listener: TcpListener, chain_id: String, events: Sender<Event>, log: Logger) {
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let (events, chain_id, log) = (events.clone(), chain_id.clone(), log.clone());
            thread::spawn(move || serve(stream, &chain_id, &events, &log));
        }
    });
}

fn serve(stream: TcpStream, chain_id: &str, events: &Sender<Event>, log: &Logger) {
    if stream.set_read_timeout(Some(READ_TIMEOUT)).is_err() {
        return;
    }
    let Ok(writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    let Ok(Some(first)) = read_line(&mut reader) else {
        return;
    };
    match serde_json::from_slice::<Opening>(&first) {
        Ok(Opening::Hello(hello)) => {
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
