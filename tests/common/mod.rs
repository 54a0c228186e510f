//! Shared test helpers: start the real server in-process on 127.0.0.1:0 and
//! talk to it over TLS with a client that trusts only the generated authority.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper::{HeaderMap, Request, StatusCode};
use hyper_util::rt::TokioIo;
use lanrtc::{Config, Settings};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// How long a test waits for something that should happen promptly.
pub const WAIT: Duration = Duration::from_secs(5);

pub fn settings(certs_dir: &Path) -> Settings {
    Settings {
        host: Some("testhost".into()),
        bind: Some("127.0.0.1".into()),
        port: Some("0".into()),
        certs_dir: Some(certs_dir.to_path_buf()),
        // mDNS joins multicast groups on every interface the moment it starts;
        // on the host it stays off (tests/mdns.rs runs it in namespaces).
        mdns: Some("off".into()),
        // A free UDP port, not "the same number as PORT": a client socket of
        // another test may hold that number.
        media_port: Some("0".into()),
        ..Settings::default()
    }
}

pub struct TestServer {
    pub addr: SocketAddr,
    pub certs_dir: PathBuf,
    pub ca: CertificateDer<'static>,
    shutdown: Option<oneshot::Sender<()>>,
    pub task: Option<JoinHandle<anyhow::Result<()>>>,
    _tmp: Option<tempfile::TempDir>,
}

impl TestServer {
    /// A server with generated certificates in a fresh temporary directory.
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    /// Like [`start`], letting the test adjust the loaded configuration.
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> TestServer {
        let tmp = tempfile::tempdir().unwrap();
        let mut server = Self::start_settings(settings(tmp.path()), adjust).await;
        server._tmp = Some(tmp);
        server
    }

    pub async fn start_settings(
        settings: Settings,
        adjust: impl FnOnce(&mut Config),
    ) -> TestServer {
        let mut config = Config::load(&settings).expect("config loads");
        adjust(&mut config);
        let certs_dir = settings.certs_dir.clone().unwrap_or_default();
        let ca = config
            .tls
            .authority
            .as_ref()
            .map(|a| a.der.clone())
            .unwrap_or_else(|| CertificateDer::from(Vec::new()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(lanrtc::run(config, listener, async {
            let _ = rx.await;
        }));
        TestServer {
            addr,
            certs_dir,
            ca,
            shutdown: Some(tx),
            task: Some(task),
            _tmp: None,
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Signals shutdown and waits for `run` to return.
    pub async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .expect("server stops within its deadline")
                .unwrap()
                .unwrap();
        }
    }

    /// TLS client config trusting only this server's authority.
    pub fn client_config(&self) -> Arc<ClientConfig> {
        client_config(&self.ca)
    }

    pub async fn tls(&self, name: &str) -> TlsStream<TcpStream> {
        tls_connect(self.addr, self.client_config(), name)
            .await
            .expect("TLS handshake")
    }

    /// GET (or another method) over HTTPS to `localhost`.
    pub async fn request(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Reply {
        let tls = self.tls("localhost").await;
        let host = format!("localhost:{}", self.port());
        send_request(TokioIo::new(tls), method, path, &host, headers).await
    }

    /// A request with a body over HTTPS to `localhost`.
    pub async fn request_body(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Reply {
        let tls = self.tls("localhost").await;
        let host = format!("localhost:{}", self.port());
        send_request_body(TokioIo::new(tls), method, path, &host, headers, body.into()).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.request("GET", path, &[]).await
    }

    /// A TLS connection from the local address `source` (127.0.0.2, say: a
    /// second host as far as the server can tell).
    pub async fn tls_from(
        &self,
        source: std::net::IpAddr,
    ) -> std::io::Result<TlsStream<TcpStream>> {
        let socket = tokio::net::TcpSocket::new_v4()?;
        socket.bind(SocketAddr::new(source, 0))?;
        let tcp = socket.connect(self.addr).await?;
        let name = ServerName::try_from("localhost".to_string()).unwrap();
        TlsConnector::from(self.client_config())
            .connect(name, tcp)
            .await
    }

    /// A signaling client from `source` that has read its `ready`.
    pub async fn client_from(
        &self,
        source: std::net::IpAddr,
        path: &str,
    ) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
        let tls = self.tls_from(source).await?;
        let url = format!("wss://localhost:{}{path}", self.port());
        let (ws, response) = tokio_tungstenite::client_async(url, tls).await?;
        let mut ws = Ws {
            ws,
            response_headers: response.headers().clone(),
            id: String::new(),
        };
        let ready = ws.recv().await;
        ws.id = ready["id"].as_str().unwrap_or_default().to_string();
        Ok(ws)
    }

    /// Opens a WebSocket at `path` over TLS.
    pub async fn ws(
        &self,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
        let tls = self.tls("localhost").await;
        let url = format!("wss://localhost:{}{path}", self.port());
        let mut req = url.into_client_request().unwrap();
        for (k, v) in headers {
            req.headers_mut().insert(
                hyper::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        let (ws, response) = tokio_tungstenite::client_async(req, tls).await?;
        Ok(Ws {
            ws,
            response_headers: response.headers().clone(),
            id: String::new(),
        })
    }

    /// A signaling client that has received `ready` (and kept its id).
    pub async fn client(&self) -> Ws {
        self.client_at("/rtc").await
    }

    /// A signaling client at `path` (e.g. `/rtc?room=a`) that has received
    /// `ready`.
    pub async fn client_at(&self, path: &str) -> Ws {
        let mut ws = self.ws(path, &[]).await.expect("upgrade");
        let ready = ws.recv().await;
        assert_eq!(ready["type"], "ready", "{ready}");
        ws.id = ready["id"].as_str().unwrap().to_string();
        ws
    }

    /// A client that has identified as `name` and read the peers announced to it.
    pub async fn peer(&self, name: &str, existing: usize) -> Ws {
        self.peer_at("/rtc", name, existing).await
    }

    /// Like [`peer`], connected at `path`.
    pub async fn peer_at(&self, path: &str, name: &str, existing: usize) -> Ws {
        let mut ws = self.client_at(path).await;
        ws.identify(name).await;
        for _ in 0..existing {
            let m = ws.recv().await;
            assert_eq!(m["type"], "peer", "{m}");
        }
        ws
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

pub fn client_config(ca: &CertificateDer<'static>) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots.add(ca.clone()).expect("authority parses");
    let config = ClientConfig::builder_with_provider(lanrtc::tls::provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

pub async fn tls_connect(
    addr: SocketAddr,
    config: Arc<ClientConfig>,
    name: &str,
) -> std::io::Result<TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    let server_name = ServerName::try_from(name.to_string()).unwrap();
    TlsConnector::from(config).connect(server_name, tcp).await
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

pub async fn send_request<I>(
    io: I,
    method: &str,
    path: &str,
    host: &str,
    headers: &[(&str, &str)],
) -> Reply
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    send_request_body(io, method, path, host, headers, Bytes::new()).await
}

pub async fn send_request_body<I>(
    io: I,
    method: &str,
    path: &str,
    host: &str,
    headers: &[(&str, &str)],
    body: Bytes,
) -> Reply
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = http1::handshake::<_, Full<Bytes>>(io).await.unwrap();
    tokio::spawn(conn);
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", host);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = sender
        .send_request(req.body(Full::new(body)).unwrap())
        .await
        .unwrap();
    let (parts, body) = res.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    Reply {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}

/// Sends raw bytes over plain TCP and returns everything the server answers.
pub async fn raw_plain(addr: SocketAddr, request: &str) -> String {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(WAIT, tcp.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

/// A WebSocket test client speaking JSON.
pub struct Ws {
    pub ws: WebSocketStream<TlsStream<TcpStream>>,
    pub response_headers: HeaderMap,
    pub id: String,
}

/// What a socket read ended with, when it was not a text message.
#[derive(Debug, PartialEq)]
pub enum Ending {
    Closed(Option<u16>),
    Gone,
    Timeout,
}

impl Ws {
    pub async fn send(&mut self, value: Value) {
        self.ws
            .send(Message::text(value.to_string()))
            .await
            .unwrap();
    }

    pub async fn send_text(&mut self, text: String) {
        self.ws.send(Message::text(text)).await.unwrap();
    }

    pub async fn identify(&mut self, name: &str) {
        let id = self.id.clone();
        self.send(serde_json::json!({"type":"identify","data":{"id":id,"name":name}}))
            .await;
    }

    /// Next text message as JSON, within [`WAIT`].
    pub async fn recv(&mut self) -> Value {
        match self.next_within(WAIT).await {
            Ok(v) => v,
            Err(end) => panic!("expected a message, got {end:?}"),
        }
    }

    /// Next text message, or how the socket ended, within `wait`.
    pub async fn next_within(&mut self, wait: Duration) -> Result<Value, Ending> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => return Err(Ending::Timeout),
                Ok(None) | Ok(Some(Err(_))) => return Err(Ending::Gone),
                Ok(Some(Ok(Message::Text(t)))) => {
                    return Ok(serde_json::from_str(t.as_str()).unwrap())
                }
                Ok(Some(Ok(Message::Close(frame)))) => {
                    return Err(Ending::Closed(frame.map(|f| u16::from(f.code))))
                }
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    /// Asserts nothing arrives for `wait`.
    pub async fn quiet(&mut self, wait: Duration) {
        if let Ok(v) = self.next_within(wait).await {
            panic!("expected silence, got {v}");
        }
    }

    /// Reads until the socket ends and returns the close code, skipping messages.
    pub async fn closed(&mut self) -> Ending {
        loop {
            match self.next_within(WAIT).await {
                Ok(_) => continue,
                Err(end) => return end,
            }
        }
    }
}
