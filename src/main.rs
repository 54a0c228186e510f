use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use lanrtc::{banner, Config, Settings};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let from_env = lanrtc::config::apply_prefixed_env();
    let settings = Settings::parse();
    let filter = settings.log.as_deref().unwrap_or("info");
    let filter = match EnvFilter::try_new(filter) {
        Ok(f) => f,
        Err(err) => {
            eprintln!("lanrtc: RUST_LOG is {filter:?}, which is not a log filter ({err}); use a level such as info or debug");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();

    let config = match Config::load(&settings) {
        Ok(mut config) => {
            config.from_env = from_env;
            config
        }
        Err(err) => {
            eprintln!("lanrtc: {err:#}");
            return ExitCode::from(2);
        }
    };
    if let Some(warning) = lanrtc::server::raise_fd_limit(config.limits.max_peers) {
        tracing::warn!("{warning}");
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("lanrtc: could not start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let listener = match TcpListener::bind(config.bind).await {
            Ok(l) => l,
            Err(err) => {
                eprintln!("lanrtc: {}", bind_error(&config, &err));
                return ExitCode::FAILURE;
            }
        };
        let shutdown = shutdown_signal();
        let local = listener.local_addr().unwrap_or(config.bind);
        print!("{}", banner::render(&config, local));
        if std::io::stdout().is_terminal() {
            if let Some(qr) = banner::qr_url(&config, local)
                .as_deref()
                .and_then(banner::qr)
            {
                println!("{qr}");
            }
        }
        match lanrtc::run(config, listener, shutdown).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("lanrtc: {err:#}");
                ExitCode::FAILURE
            }
        }
    })
}

fn bind_error(config: &Config, err: &std::io::Error) -> String {
    let addr = config.bind;
    match err.kind() {
        std::io::ErrorKind::AddrInUse => format!(
            "cannot listen on {addr}: port {} is already in use (another lanrtc?); stop that program, or set PORT to another port (0 picks a free one)",
            addr.port()
        ),
        std::io::ErrorKind::PermissionDenied => format!(
            "cannot listen on {addr}: permission denied; ports below 1024 need privileges, so set PORT to 1024 or above (the default is 8443)"
        ),
        std::io::ErrorKind::AddrNotAvailable => format!(
            "cannot listen on {addr}: BIND {} is not an address of this machine; use 0.0.0.0, ::, or one of its addresses",
            addr.ip()
        ),
        _ => format!("cannot listen on {addr}: {err}"),
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM. The handlers are installed when
/// this is called, not when the future is first polled, so a signal that
/// arrives while the server is still starting is not lost (and does not kill
/// the process with the default action).
#[cfg(unix)]
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{signal, SignalKind};
    let interrupt = signal(SignalKind::interrupt());
    let terminate = signal(SignalKind::terminate());
    async move {
        match (interrupt, terminate) {
            (Ok(mut int), Ok(mut term)) => {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
}

/// Elsewhere (Windows): Ctrl-C, which is also what a console close sends.
#[cfg(not(unix))]
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
