//! Where the RPC API is, and the credentials it takes: the address found as kubo's own client
//! finds it (`--api`, `$IPFS_API`, the repository's `api` file, the default), read as a URL or
//! a multiaddr, and `API.Authorizations`' credentials.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use reqwest::header::HeaderValue;
use reqwest::Url;

use super::RpcError;

/// The address kubo's own client uses when nothing else names one.
pub const DEFAULT_API: &str = "http://127.0.0.1:5001";

/// Credentials for the RPC API, written as kubo's `API.Authorizations` takes them:
/// `basic:USER:PASSWORD` or `bearer:TOKEN`. Never printed (`Debug` hides the secret).
#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    /// HTTP basic authentication.
    Basic {
        /// The user.
        user: String,
        /// The password.
        password: String,
    },
    /// A bearer token.
    Bearer(String),
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::Basic { user, .. } => write!(f, "Basic({user}:…)"),
            Auth::Bearer(_) => f.write_str("Bearer(…)"),
        }
    }
}

impl FromStr for Auth {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (scheme, secret) = s
            .split_once(':')
            .ok_or("expected basic:USER:PASSWORD or bearer:TOKEN")?;
        match scheme.to_ascii_lowercase().as_str() {
            "basic" => {
                let (user, password) = secret
                    .split_once(':')
                    .ok_or("expected basic:USER:PASSWORD")?;
                Ok(Auth::Basic {
                    user: user.to_owned(),
                    password: password.to_owned(),
                })
            }
            "bearer" if !secret.is_empty() => Ok(Auth::Bearer(secret.to_owned())),
            "bearer" => Err("expected bearer:TOKEN".into()),
            _ => Err(format!(
                "unknown scheme {scheme:?}: expected basic:USER:PASSWORD or bearer:TOKEN"
            )),
        }
    }
}

impl Auth {
    pub(super) fn header(&self) -> Result<HeaderValue, RpcError> {
        let text = match self {
            Auth::Basic { user, password } => format!(
                "Basic {}",
                data_encoding::BASE64.encode(format!("{user}:{password}").as_bytes())
            ),
            Auth::Bearer(token) => format!("Bearer {token}"),
        };
        let mut value = HeaderValue::from_str(&text)
            .map_err(|_| RpcError::Client("the credentials are not valid header text".into()))?;
        value.set_sensitive(true);
        Ok(value)
    }
}

/// Where the RPC API is, and what named it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiAddress {
    /// The API's base URL (`http://host:port`).
    pub url: Url,
    /// What named it: `--api`, `$IPFS_API`, the `api` file read, or the default.
    pub from: String,
}

/// Finds the RPC API as kubo's own client does: `explicit` (a URL or a multiaddr) if given,
/// else `$IPFS_API`, else the multiaddr in `$IPFS_PATH/api` (or `~/.ipfs/api`), else
/// [`DEFAULT_API`].
pub fn find_api(explicit: Option<&str>) -> Result<ApiAddress, RpcError> {
    let found = |text: &str, from: String| {
        parse_api(text)
            .map(|url| ApiAddress {
                url,
                from: from.clone(),
            })
            .map_err(|reason| RpcError::Address {
                // An address holding credentials is not printed.
                address: if text.contains('@') {
                    format!("(not shown: it holds credentials) (from {from})")
                } else {
                    format!("{} (from {from})", text.trim())
                },
                reason,
            })
    };
    if let Some(text) = explicit {
        return found(text, "--api".into());
    }
    if let Some(text) = std::env::var("IPFS_API").ok().filter(|s| !s.is_empty()) {
        return found(&text, "$IPFS_API".into());
    }
    let repo = std::env::var_os("IPFS_PATH")
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".ipfs")));
    if let Some(file) = repo.map(|repo| repo.join("api")) {
        if let Ok(text) = std::fs::read_to_string(&file) {
            return found(&text, file.display().to_string());
        }
    }
    found(DEFAULT_API, "the default".into())
}

/// An API address as a URL: `http(s)://host:port[/]`, or a multiaddr
/// (`/ip4/127.0.0.1/tcp/5001`, `/ip6/::1/tcp/5001`, `/dns4/node/tcp/5001`, optionally followed
/// by `/http` or `/tls/http` or `/https`).
pub fn parse_api(text: &str) -> Result<Url, String> {
    let text = text.trim();
    if text.starts_with('/') {
        return multiaddr_url(text);
    }
    let url = Url::parse(text).map_err(|e| e.to_string())?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err("expected an http(s) URL or a multiaddr".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("the API address takes no query or fragment".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "credentials go in --api-auth (kubo's API.Authorizations), not in the URL".into(),
        );
    }
    Ok(with_trailing_slash(url))
}

/// `url` with a path ending in `/`, so that calls are joined below it (`http://h/ipfs-api` is
/// called as `http://h/ipfs-api/api/v0/...`).
pub(super) fn with_trailing_slash(mut url: Url) -> Url {
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    url
}

fn multiaddr_url(text: &str) -> Result<Url, String> {
    let parts: Vec<&str> = text.split('/').skip(1).collect();
    let (host, rest) = match parts.as_slice() {
        ["ip4", ip, rest @ ..] => {
            let ip: std::net::Ipv4Addr = ip.parse().map_err(|_| format!("bad ip4 {ip}"))?;
            (ip.to_string(), rest)
        }
        ["ip6", ip, rest @ ..] => {
            let ip: std::net::Ipv6Addr = ip.parse().map_err(|_| format!("bad ip6 {ip}"))?;
            (format!("[{ip}]"), rest)
        }
        [proto @ ("dns" | "dns4" | "dns6"), name, rest @ ..] if !name.is_empty() => {
            let _ = proto;
            (name.to_string(), rest)
        }
        _ => return Err("expected /ip4, /ip6 or /dns… followed by /tcp/PORT".into()),
    };
    let (port, rest) = match rest {
        ["tcp", port, rest @ ..] => (
            port.parse::<u16>()
                .map_err(|_| format!("bad port {port}"))?,
            rest,
        ),
        _ => return Err("expected /tcp/PORT after the host".into()),
    };
    let scheme = match rest {
        [] | ["http"] => "http",
        ["https"] | ["tls", "http"] => "https",
        _ => return Err(format!("unsupported protocols /{}", rest.join("/"))),
    };
    Url::parse(&format!("{scheme}://{host}:{port}")).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_addresses_as_urls_or_multiaddrs() {
        let ok = |s: &str| parse_api(s).unwrap().to_string();
        assert_eq!(ok("/ip4/127.0.0.1/tcp/5001"), "http://127.0.0.1:5001/");
        assert_eq!(ok("/ip6/::1/tcp/5001"), "http://[::1]:5001/");
        assert_eq!(
            ok("/dns4/node.example/tcp/443/https"),
            "https://node.example/"
        );
        assert_eq!(
            ok("/ip4/10.0.0.1/tcp/5001/tls/http"),
            "https://10.0.0.1:5001/"
        );
        assert_eq!(ok("http://127.0.0.1:5001"), "http://127.0.0.1:5001/");
        assert_eq!(ok(" /ip4/127.0.0.1/tcp/5001\n"), "http://127.0.0.1:5001/");
        // Below a path: calls are joined under it.
        let api = parse_api("http://proxy.example/ipfs-api").unwrap();
        assert_eq!(
            api.join("api/v0/id").unwrap().as_str(),
            "http://proxy.example/ipfs-api/api/v0/id"
        );
        assert!(parse_api("http://user:secret@127.0.0.1:5001")
            .unwrap_err()
            .contains("--api-auth"));
        for bad in [
            "/ip4/127.0.0.1",
            "/ip4/300.0.0.1/tcp/1",
            "/ip4/127.0.0.1/udp/1",
            "/ip4/127.0.0.1/tcp/1/ws",
            "ftp://x",
            "http://x/?a=b",
            "127.0.0.1:5001",
        ] {
            assert!(parse_api(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn credentials_as_kubo_writes_them() {
        assert_eq!(
            "basic:user:pa:ss".parse::<Auth>().unwrap(),
            Auth::Basic {
                user: "user".into(),
                password: "pa:ss".into()
            }
        );
        assert_eq!(
            "bearer:t0k".parse::<Auth>().unwrap(),
            Auth::Bearer("t0k".into())
        );
        for bad in ["basic", "basic:nopass", "bearer:", "digest:x"] {
            assert!(bad.parse::<Auth>().is_err(), "{bad}");
        }
        assert!(!format!("{:?}", Auth::Bearer("secret".into())).contains("secret"));
        assert!(!format!("{:?}", "basic:u:secret".parse::<Auth>().unwrap()).contains("secret"));
    }
}
