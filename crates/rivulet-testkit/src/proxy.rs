//! A TCP proxy for tests that need a connection to die: everything sent through it reaches
//! the target unchanged until [`TcpProxy::cut`] closes every open connection at once (as a
//! network failure or a firewall reset would). New connections keep working afterwards.
//!
//! ```text
//!  client ──▶ 127.0.0.1:<proxy port> ──(two copy threads per connection)──▶ target
//!                         cut(): shutdown both sockets of every open pair
//! ```

use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

pub struct TcpProxy {
    port: u16,
    shared: Arc<Shared>,
}

struct Shared {
    /// Both ends of every connection made so far (closed ones too: shutting a closed socket
    /// down again is harmless).
    open: Mutex<Vec<TcpStream>>,
    accepted: AtomicUsize,
    stopping: AtomicBool,
}

impl TcpProxy {
    /// Listens on a free port of 127.0.0.1 and forwards to `target`.
    pub fn start(target: SocketAddr) -> TcpProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let shared = Arc::new(Shared {
            open: Mutex::new(Vec::new()),
            accepted: AtomicUsize::new(0),
            stopping: AtomicBool::new(false),
        });
        let s = Arc::clone(&shared);
        thread::spawn(move || {
            for client in listener.incoming() {
                if s.stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(target) else {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                };
                s.accepted.fetch_add(1, Ordering::SeqCst);
                if let (Ok(c), Ok(v)) = (client.try_clone(), server.try_clone()) {
                    let mut open = s.open.lock().expect("proxy lock");
                    open.push(c);
                    open.push(v);
                }
                pump(&client, &server);
                pump(&server, &client);
            }
        });
        TcpProxy { port, shared }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// Closes every connection open now, both ways.
    pub fn cut(&self) {
        let mut open = self.shared.open.lock().expect("proxy lock");
        for s in open.drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        self.cut();
        // Wake the accept loop so it sees `stopping`.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Copies `from` to `to` on a thread of its own until either side closes.
fn pump(from: &TcpStream, to: &TcpStream) {
    let (Ok(mut from), Ok(mut to)) = (from.try_clone(), to.try_clone()) else {
        return;
    };
    thread::spawn(move || {
        let _: io::Result<u64> = io::copy(&mut from, &mut to);
        let _ = to.shutdown(Shutdown::Both);
        let _ = from.shutdown(Shutdown::Both);
    });
}
