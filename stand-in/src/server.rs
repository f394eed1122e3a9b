//! A loopback HTTP server that stops when its owner is dropped: its accept loop and every
//! connection it holds, a handler still running (an injected hang, a long poll) included.

use std::net::SocketAddr;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

pub(crate) struct Server {
    pub(crate) addr: SocketAddr,
    /// The accept loop; it owns the connections' tasks, so that aborting it ends them too.
    task: JoinHandle<()>,
}

impl Server {
    /// Binds `address` (`127.0.0.1:0` for any free port) and serves `app` in the background.
    pub(crate) async fn start(app: Router, address: &str) -> std::io::Result<Server> {
        let listener = TcpListener::bind(address).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(accept(listener, app));
        Ok(Server { addr, task })
    }
}

/// Accepts connections and serves each in a task of `connections`. When this future is dropped
/// (its task aborted), the set is dropped with it, which aborts every connection's task and so
/// drops the handler futures they run.
async fn accept(listener: TcpListener, app: Router) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let service = TowerToHyperService::new(app.clone());
                    connections.spawn(async move {
                        // HTTP/1 runs each request's handler inside the connection's future.
                        let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                    });
                }
                // Out of file descriptors, say: wait a little rather than spin (as axum::serve does).
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
            },
            // Finished connections are reaped, so that the set holds only live ones.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use axum::extract::State;
    use axum::routing::get;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::sync::oneshot;

    use super::*;

    /// Says so when it is dropped: held by a handler, it tells when the handler's future went.
    struct Dropped(Option<oneshot::Sender<()>>);

    impl Drop for Dropped {
        fn drop(&mut self) {
            if let Some(sender) = self.0.take() {
                let _ = sender.send(());
            }
        }
    }

    /// What the hanging handler takes: a bell for when it starts, and the guard it holds.
    type Hanging = Arc<Mutex<Option<(oneshot::Sender<()>, Dropped)>>>;

    /// Rings the bell, then holds the guard and never answers.
    async fn hang(State(hanging): State<Hanging>) -> &'static str {
        let taken = hanging.lock().ok().and_then(|mut slot| slot.take());
        let Some((started, _guard)) = taken else {
            return "already taken";
        };
        let _ = started.send(());
        std::future::pending::<()>().await;
        "never"
    }

    #[tokio::test]
    async fn a_dropped_server_drops_a_hanging_handler_and_closes_its_connection() {
        let (started, handler_started) = oneshot::channel();
        let (dropped, handler_dropped) = oneshot::channel();
        let hanging: Hanging = Arc::new(Mutex::new(Some((started, Dropped(Some(dropped))))));
        let app = Router::new().route("/", get(hang)).with_state(hanging);
        let server = Server::start(app, "127.0.0.1:0").await.expect("bind a loopback port");

        let mut client = tokio::net::TcpStream::connect(server.addr).await.expect("connect");
        client
            .write_all(b"GET / HTTP/1.1\r\nhost: stand-in\r\n\r\n")
            .await
            .expect("send a request");
        handler_started.await.expect("the handler starts");

        drop(server);

        // The budget is for a slow machine; the abort takes effect at the runtime's next turn.
        let budget = Duration::from_secs(5);
        let went = tokio::time::timeout(budget, handler_dropped).await;
        assert!(matches!(went, Ok(Ok(()))), "the hanging handler outlived its server");
        let mut rest = Vec::new();
        let read = tokio::time::timeout(budget, client.read_to_end(&mut rest)).await;
        assert!(
            matches!(read, Ok(Ok(0)) | Ok(Err(_))),
            "the connection stayed open after the server was dropped: {read:?}"
        );
    }

    #[tokio::test]
    async fn a_dropped_server_accepts_no_more_connections() {
        let app = Router::new().route("/", get(|| async { "ok" }));
        let server = Server::start(app, "127.0.0.1:0").await.expect("bind a loopback port");
        let addr = server.addr;
        drop(server);
        // The listener is closed when the aborted accept loop is dropped, at the runtime's next turn.
        tokio::task::yield_now().await;
        let refused = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                if tokio::net::TcpStream::connect(addr).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
        assert!(refused.is_ok(), "{addr} still accepts connections");
    }
}
