//! A loopback HTTP server task that stops when its owner is dropped.

use std::net::SocketAddr;

use axum::Router;

pub(crate) struct Server {
    pub(crate) addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// Binds `address` (`127.0.0.1:0` for any free port) and serves `app` in the background.
    pub(crate) async fn start(app: Router, address: &str) -> std::io::Result<Server> {
        let listener = tokio::net::TcpListener::bind(address).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Server { addr, task })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}
