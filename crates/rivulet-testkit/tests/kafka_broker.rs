//! The throwaway broker really stops (an outage) and comes back on the same port.

#![allow(clippy::unwrap_used)]

use std::net::TcpStream;

use rivulet_testkit::KafkaBroker;

#[test]
fn stop_closes_the_port_and_start_again_reopens_it() {
    let mut broker = KafkaBroker::start();
    assert!(TcpStream::connect(("127.0.0.1", broker.port())).is_ok());
    broker.stop();
    assert!(
        TcpStream::connect(("127.0.0.1", broker.port())).is_err(),
        "the broker is down"
    );
    broker.start_again();
    assert!(TcpStream::connect(("127.0.0.1", broker.port())).is_ok());
}
