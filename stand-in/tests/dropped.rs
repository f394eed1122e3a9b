//! A dropped server ends the requests it still holds: a target's injected hang and the Runtime
//! API's long poll answer nothing more, and their connections close.

use std::net::SocketAddr;
use std::time::Duration;

use stand_in::{Answer, HttpTarget, LocalAws};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends `GET path` and returns the connection, its answer not read.
async fn request(address: SocketAddr, path: &str) -> TcpStream {
    let mut connection = TcpStream::connect(address).await.expect("connect");
    connection
        .write_all(format!("GET {path} HTTP/1.1\r\nhost: stand-in\r\n\r\n").as_bytes())
        .await
        .expect("send the request");
    connection
}

/// What the server sent before the connection closed; `None` if it was still open after the
/// budget (generous, for a slow machine: a dropped server closes at the runtime's next turn).
async fn read_until_closed(connection: &mut TcpStream) -> Option<String> {
    let mut received = Vec::new();
    match tokio::time::timeout(Duration::from_secs(5), connection.read_to_end(&mut received)).await {
        Ok(_) => Some(String::from_utf8_lossy(&received).into_owned()),
        Err(_) => None,
    }
}

#[tokio::test]
async fn a_dropped_target_closes_a_hanging_request() {
    let target = HttpTarget::start(&[("/hang", Answer::Hang)])
        .await
        .expect("start the target");
    let address = target.host_port().parse().expect("an address");
    let mut connection = request(address, "/hang").await;
    // The request is in the handler (it hangs) once the target has seen it.
    while target.requests().is_empty() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    drop(target);

    let received = read_until_closed(&mut connection).await;
    assert_eq!(received.as_deref(), Some(""), "the hanging request outlived its target");
}

#[tokio::test]
async fn a_dropped_stand_in_closes_the_runtime_api_s_long_poll() {
    let aws = LocalAws::start().await.expect("start the stand-in");
    let address = aws.runtime_api().parse().expect("an address");
    let mut connection = request(address, "/2018-06-01/runtime/invocation/next").await;
    // The poll waits for an event; its arrival is recorded.
    assert!(aws.wait_for_first_poll(Duration::from_secs(5)).await.is_some());

    drop(aws);

    let received = read_until_closed(&mut connection).await;
    assert_eq!(received.as_deref(), Some(""), "the long poll outlived its stand-in");
}
