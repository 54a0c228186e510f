//! The accept loop and per-connection tasks, and orderly shutdown.
//!
//! The loop only accepts. Each connection's task decides between TLS and
//! plain HTTP from the first byte (a TLS record starts with 0x16), finishes the
//! handshake under a timeout, and serves HTTP/1.1 with upgrades. Shutdown stops
//! accepting, asks open connections to finish, closes signaling sockets with
//! 1001, and waits at most `shutdown_grace`.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tracing::{debug, info, warn};

use crate::app::App;
use crate::assets::Assets;
use crate::config::Config;
use crate::http;
use crate::rtc::Hub;
use crate::write_timeout::WriteTimeout;
use crate::{mdns, media, reload};

/// First byte of a TLS handshake record.
const TLS_HANDSHAKE: u8 = 0x16;

/// Raises the open-file limit to the most the system allows: every signaling
/// connection is a file descriptor, and the usual soft limit of 1024 is far
/// below `MAX_PEERS`. Returns a warning when the limit still falls short.
pub fn raise_fd_limit(max_peers: usize) -> Option<String> {
    // Listener, log, certificate files and some slack for HTTP requests.
    const SPARE: u64 = 256;
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) if limit < max_peers as u64 + SPARE => Some(format!(
            "this process may open only {limit} files, fewer than MAX_PEERS ({max_peers}) connections need; raise the limit (ulimit -n) or lower MAX_PEERS"
        )),
        Ok(_) => None,
        Err(err) => Some(format!("could not raise the open-file limit ({err}); MAX_PEERS may not be reachable")),
    }
}

/// Serves on an already-bound listener until `shutdown` completes.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    let port = listener.local_addr()?.port();
    let manifest = config.assets.manifest().await;
    let (media, notices) = match &config.media {
        Some(settings) => {
            let ips = media::socket_addresses(config.bind.ip());
            // "The same number as PORT": the port actually listened on, so
            // with PORT=0 the banner can still name it.
            let udp_port = settings.port.unwrap_or(port);
            let config = media::MediaConfig {
                max_viewers: settings.max_viewers,
                max_meeting: settings.max_meeting,
                silence: settings.silence,
            };
            let (handle, notices) = media::start(&ips, udp_port, config)?;
            info!(addresses = ?handle.addrs(), "media server listening (UDP)");
            (Some(handle), Some(notices))
        }
        None => (None, None),
    };
    let hub = Hub::new(
        &config.limits,
        manifest.version.clone(),
        config.ice_servers_json(),
        config.access.as_ref().map(|k| k.as_str().to_string()),
        media.clone(),
    );
    let landing = config.offers_landing();
    hub.set_lan(crate::net::lan_origin(config.bind.ip(), port), landing);
    let notice_task = notices.map(|n| tokio::spawn(crate::rtc::appliance::follow(hub.clone(), n)));
    // Files served from disk are watched, so every open page follows edits.
    let watcher = match &config.assets {
        Assets::Disk { root } => match reload::spawn(
            root.to_path_buf(),
            config.assets.clone(),
            hub.clone(),
            manifest,
        ) {
            Ok(task) => Some(task),
            Err(err) => {
                warn!("{err:#}; pages will not reload by themselves");
                None
            }
        },
        Assets::Embedded(_) => None,
    };
    let app = Arc::new(App {
        host: config.host.clone(),
        port,
        assets: config.assets.clone(),
        authority: config.tls.authority.clone(),
        hub: hub.clone(),
        limits: config.limits.clone(),
        access: config.access.clone(),
        media,
        cert: config.tls.cert.clone(),
        per_address: crate::per_address::PerAddress::new(
            config.limits.per_address[0],
            config.limits.per_address[1],
            config.limits.per_address[2],
            config.limits.max_peers,
        ),
    });
    // mDNS runs its own thread; starting it only sets up sockets.
    let announcer = match &config.mdns {
        Some(interfaces) => {
            let addresses = crate::net::lan_addresses_on(interfaces);
            match mdns::start(&config.host, port, interfaces, addresses) {
                Ok(a) => Some(a),
                Err(err) => {
                    warn!("{err:#}; devices will not find this server by name (use its address)");
                    None
                }
            }
        }
        None => None,
    };
    // The certificate and the announcement follow the network.
    let renewal = {
        let follow = announcer.as_ref().map(|a| a.follower());
        let interfaces = config.mdns.clone().unwrap_or_default();
        let (hub_for_lan, bind) = (hub.clone(), config.bind.ip());
        crate::renew::spawn(
            crate::renew::Renewal {
                source: config.cert_source.clone(),
                host: config.host_name.clone(),
                port,
                cert: config.tls.cert.clone(),
                authority: config.tls.authority.as_ref().map(|a| a.der.clone()),
                every: config.limits.cert_recheck,
            },
            move |_all| {
                hub_for_lan.set_lan(crate::net::lan_origin(bind, port), landing);
                if let Some(follow) = &follow {
                    follow.addresses(crate::net::lan_addresses_on(&interfaces));
                }
            },
        )
    };
    let acceptor = config.tls.acceptor.clone();
    let limits = config.limits.clone();
    let per_address = app.per_address.clone();

    // Connections watch `stop` for the shutdown signal and hold a clone of
    // `done_tx`; when every clone is gone, every connection has finished.
    let (stop_tx, stop_rx) = watch::channel(false);
    let (done_tx, mut done_rx) = mpsc::channel::<()>(1);

    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(err) => {
                    // Running out of file descriptors and the like: log, give the
                    // system a moment, carry on.
                    warn!(%err, "accept failed; retrying");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        // One host may not hold every connection: past its share it is
        // closed at once, before any work is done for it.
        let Some(place) = per_address.admit(peer.ip(), crate::per_address::What::Connections)
        else {
            app.hub.metrics().closed("address-limit");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (app, acceptor, stop, done) = (
            app.clone(),
            acceptor.clone(),
            stop_rx.clone(),
            done_tx.clone(),
        );
        let handshake_timeout = limits.handshake_timeout;
        tokio::spawn(async move {
            serve_connection(stream, peer.ip(), app, acceptor, handshake_timeout, stop).await;
            drop(place);
            debug!(%peer, "connection finished");
            drop(done);
        });
    }

    info!("shutting down");
    drop(listener);
    if let Some(task) = watcher {
        task.abort();
    }
    if let Some(task) = notice_task {
        task.abort();
    }
    renewal.abort();
    let _ = stop_tx.send(true);
    drop(done_tx);
    let grace = limits.shutdown_grace;
    let connections = async {
        let _ = done_rx.recv().await;
    };
    let goodbye = async {
        if let Some(announcer) = announcer {
            announcer.stop(grace).await;
        }
    };
    let _ = tokio::time::timeout(grace, async {
        tokio::join!(hub.shutdown(grace), connections, goodbye)
    })
    .await;
    info!("stopped");
    Ok(())
}

async fn serve_connection(
    stream: TcpStream,
    remote: std::net::IpAddr,
    app: Arc<App>,
    acceptor: tokio_rustls::TlsAcceptor,
    handshake_timeout: Duration,
    mut stop: watch::Receiver<bool>,
) {
    // Silence and an unfinished handshake both hold a place here: a host
    // that opens sockets and never finishes them runs out of its own
    // places, not everyone's.
    let Some(handshaking) = app
        .per_address
        .admit(remote, crate::per_address::What::Handshakes)
    else {
        app.hub.metrics().closed("address-limit");
        return;
    };
    let mut first = [0u8; 1];
    let peeked = tokio::select! {
        r = tokio::time::timeout(handshake_timeout, stream.peek(&mut first)) => r,
        _ = stopped(&mut stop) => return,
    };
    match peeked {
        Ok(Ok(1)) => {}
        _ => return, // silent, closed or broken: nothing to serve
    }
    if first[0] == TLS_HANDSHAKE {
        let handshake = tokio::select! {
            r = tokio::time::timeout(handshake_timeout, acceptor.accept(stream)) => r,
            _ = stopped(&mut stop) => return,
        };
        match handshake {
            Ok(Ok(tls)) => {
                drop(handshaking);
                app.hub.metrics().connection("tls");
                let io = WriteTimeout::new(tls, app.limits.write_timeout);
                serve_http(io, remote, app, true, handshake_timeout, stop).await
            }
            Ok(Err(err)) => debug!(%err, "TLS handshake failed"),
            Err(_) => debug!("TLS handshake timed out"),
        }
    } else {
        drop(handshaking);
        app.hub.metrics().connection("plain");
        let io = WriteTimeout::new(stream, app.limits.write_timeout);
        serve_http(io, remote, app, false, handshake_timeout, stop).await;
    }
}

async fn serve_http<S>(
    io: S,
    remote: std::net::IpAddr,
    app: Arc<App>,
    secure: bool,
    header_timeout: Duration,
    mut stop: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req| http::handle(req, app.clone(), secure, remote));
    let conn = http1::Builder::new()
        // Without a timer hyper silently ignores header_read_timeout.
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    tokio::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => {
            if let Err(err) = r {
                debug!(%err, "HTTP connection ended with an error");
            }
        }
        _ = stopped(&mut stop) => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

/// Completes once shutdown has been signalled (or the signal's sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}
