//! What request handling needs, shared by every connection: built once by
//! [`crate::server::run`], read by the router and the modules it routes to.

use std::sync::Arc;

use crate::access::AccessKey;
use crate::assets::Assets;
use crate::certs::Authority;
use crate::config::Limits;
use crate::rtc::Hub;

/// What request handling needs, shared by every connection.
pub struct App {
    pub host: String,
    pub port: u16,
    pub assets: Assets,
    pub authority: Option<Arc<Authority>>,
    pub hub: Hub,
    pub limits: Limits,
    /// `ACCESS_KEY`: when set, everything but the trust helpers needs it.
    pub access: Option<AccessKey>,
    /// The media server, unless `MEDIA=off`.
    pub media: Option<crate::media::Media>,
    /// The server certificate being served (it can be replaced).
    pub cert: Arc<crate::tls::ServerCert>,
    /// Connections, handshakes and signaling sockets per source address.
    pub per_address: Arc<crate::per_address::PerAddress>,
}
