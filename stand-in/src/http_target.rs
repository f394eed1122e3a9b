//! A real HTTP server standing in for the load balancer's test listener, with an answer per path.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::IntoResponse;

use crate::server::Server;

/// How the target answers a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// The status, with the body `ok` (2xx) or `unhealthy`.
    Status(u16),
    /// The status with this JSON body (`content-type: application/json`).
    Json(u16, &'static str),
    /// The status, after a delay.
    Slow(Duration, u16),
    /// 503 to the first N requests for the path (a task still starting), then 200.
    WarmingUp(usize),
    /// Never answers.
    Hang,
}

/// A request the target saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenRequest {
    /// When the request arrived.
    pub at: std::time::Instant,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: Vec<(String, String)>,
}

impl SeenRequest {
    /// The value of the header `name` (any case), if it was sent.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

struct Routes {
    answers: Vec<(String, Answer)>,
    fallback: Option<Answer>,
    seen: Mutex<Vec<SeenRequest>>,
}

/// The running target. Dropping it stops the server.
pub struct HttpTarget {
    server: Server,
    routes: Arc<Routes>,
}

impl HttpTarget {
    /// Serves `answers` by path; any other path is a 404.
    pub async fn start(answers: &[(&str, Answer)]) -> std::io::Result<HttpTarget> {
        HttpTarget::start_with_fallback(answers, None).await
    }

    /// Serves `answers` by path and `fallback` (when given) for every other path.
    pub async fn start_with_fallback(
        answers: &[(&str, Answer)],
        fallback: Option<Answer>,
    ) -> std::io::Result<HttpTarget> {
        let routes = Arc::new(Routes {
            answers: answers.iter().map(|(p, a)| (p.to_string(), *a)).collect(),
            fallback,
            seen: Mutex::new(Vec::new()),
        });
        let app = Router::new().fallback(answer).with_state(Arc::clone(&routes));
        let server = Server::start(app, "127.0.0.1:0").await?;
        Ok(HttpTarget { server, routes })
    }

    /// `127.0.0.1:PORT`, the bare form `ALB_URL` accepts.
    pub fn host_port(&self) -> String {
        self.server.addr.to_string()
    }

    /// The port it listens on, for a stand-in listener that forwards to it.
    pub fn port(&self) -> u16 {
        self.server.addr.port()
    }

    pub fn requests(&self) -> Vec<SeenRequest> {
        self.routes.seen.lock().map(|seen| seen.clone()).unwrap_or_default()
    }
}

async fn answer(State(routes): State<Arc<Routes>>, method: Method, uri: Uri, headers: HeaderMap) -> impl IntoResponse {
    let path = uri.path().to_string();
    let mut earlier = 0;
    if let Ok(mut seen) = routes.seen.lock() {
        earlier = seen.iter().filter(|request| request.path == path).count();
        seen.push(SeenRequest {
            at: std::time::Instant::now(),
            method: method.to_string(),
            path: path.clone(),
            query: uri.query().map(str::to_string),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or_default().to_string()))
                .collect(),
        });
    }
    let answer = routes
        .answers
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, a)| *a)
        .or(routes.fallback);
    let status = match answer {
        None => 404,
        Some(Answer::Json(status, body)) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return (status, [(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response();
        }
        Some(Answer::Status(status)) => status,
        Some(Answer::WarmingUp(failures)) => {
            if earlier < failures {
                503
            } else {
                200
            }
        }
        Some(Answer::Slow(delay, status)) => {
            tokio::time::sleep(delay).await;
            status
        }
        Some(Answer::Hang) => {
            tokio::time::sleep(Duration::from_secs(600)).await;
            504
        }
    };
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, if status.is_success() { "ok" } else { "unhealthy" }).into_response()
}
