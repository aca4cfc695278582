//! TURN credentials that expire, one per connection: the "TURN REST API" scheme that coturn checks with
//! `use-auth-secret` / `static-auth-secret`. The username is `<expiry>:<peer id>` (expiry in Unix seconds) and the
//! credential is base64(HMAC-SHA1(secret, username)); the TURN server recomputes it from the secret it shares with
//! this server and refuses it once the expiry has passed. Connected peers get new ones (`ice_servers`) at half
//! their lifetime (PROTOCOL.md 3.4), so a peer that stays for days still reaches the relay.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use sha1::Sha1;
use swarm::signal::{IceServer, PeerId};

/// What `--turn-url`, `--turn-secret` and `--turn-ttl` configure, with the secret read.
#[derive(Clone)]
pub struct TurnRest {
    urls: Vec<String>,
    secret: Vec<u8>,
    ttl: Duration,
}

// The secret is never printed.
impl std::fmt::Debug for TurnRest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TurnRest").field("urls", &self.urls).field("ttl", &self.ttl).finish_non_exhaustive()
    }
}

/// Longest secret file read, in bytes: a secret is a line of text.
const MAX_SECRET_FILE: u64 = 4096;

impl TurnRest {
    /// Reads the secret: the file's first line, without its line ending; an error names the file and what is wrong
    /// with it.
    pub fn load(urls: Vec<String>, secret_file: &Path, ttl: Duration) -> Result<TurnRest, String> {
        let shown = secret_file.display();
        let meta =
            std::fs::metadata(secret_file).map_err(|e| format!("cannot read the TURN secret file {shown}: {e}"))?;
        if meta.len() > MAX_SECRET_FILE {
            return Err(format!("the TURN secret file {shown} is over {MAX_SECRET_FILE} bytes: not a secret"));
        }
        let text = std::fs::read_to_string(secret_file)
            .map_err(|e| format!("cannot read the TURN secret file {shown}: {e}"))?;
        let secret = text.lines().next().unwrap_or("").trim_end();
        if secret.is_empty() {
            return Err(format!("the TURN secret file {shown} is empty: its first line is the secret"));
        }
        Ok(TurnRest { urls, secret: secret.as_bytes().to_vec(), ttl })
    }

    /// The TURN server entry for `peer`, valid from `now` for the configured lifetime.
    pub fn ice_server(&self, peer: &PeerId, now: SystemTime) -> IceServer {
        let expiry = now.duration_since(UNIX_EPOCH).unwrap_or_default().saturating_add(self.ttl).as_secs();
        let username = format!("{expiry}:{}", peer.0);
        IceServer {
            urls: self.urls.clone(),
            credential: Some(credential(&self.secret, &username)),
            username: Some(username),
        }
    }

    /// How often a connected peer gets new credentials: at half their lifetime.
    pub fn renew_every(&self) -> Duration {
        self.ttl / 2
    }
}

/// base64(HMAC-SHA1(secret, username)), as coturn computes it.
fn credential(secret: &[u8], username: &str) -> String {
    // HMAC takes a key of any length.
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(secret) else { return String::new() };
    mac.update(username.as_bytes());
    data_encoding::BASE64.encode(&mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_credential_is_the_rfc_2202_hmac_sha1_in_base64() {
        // RFC 2202 test case 2: key "Jefe", data "what do ya want for nothing?",
        // HMAC-SHA1 = effcdf6ae5eb2fa2d27416d5f184df9c259a7c79.
        assert_eq!(credential(b"Jefe", "what do ya want for nothing?"), "7/zfauXrL6LSdBbV8YTfnCWafHk=");
    }

    #[test]
    fn the_credential_of_the_protocol_example_is_the_one_made_from_its_secret() {
        let doc = include_str!("../../docs/PROTOCOL.md");
        let line = doc.lines().find(|l| l.trim_start().starts_with(r#"{"type":"ice_servers""#)).unwrap();
        let event = swarm::signal::ServerEvent::parse(line.trim()).unwrap();
        let swarm::signal::ServerEvent::IceServers { ice_servers } = event else { panic!("not ice_servers") };
        let server = &ice_servers[0];
        let username = server.username.as_deref().unwrap();
        assert_eq!(server.credential.as_deref(), Some(credential(b"example-secret", username).as_str()));
    }

    #[test]
    fn a_peer_gets_a_username_that_expires_after_the_lifetime() {
        let turn = TurnRest {
            urls: vec!["turn:t.example:3478".into()],
            secret: b"s3cret".to_vec(),
            ttl: Duration::from_secs(600),
        };
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let server = turn.ice_server(&PeerId("0a1b2c3d4e5f60718293a4b5c6d7e8f9".into()), now);
        assert_eq!(server.username.as_deref(), Some("1700000600:0a1b2c3d4e5f60718293a4b5c6d7e8f9"));
        assert_eq!(
            server.credential.as_deref(),
            Some(credential(b"s3cret", "1700000600:0a1b2c3d4e5f60718293a4b5c6d7e8f9").as_str())
        );
        assert_eq!(turn.renew_every(), Duration::from_secs(300));
        assert!(!format!("{turn:?}").contains("s3cret"), "the secret is printed");
    }

    #[test]
    fn a_missing_or_empty_secret_file_is_a_clear_error() {
        let dir = std::env::temp_dir().join(format!("turn-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = TurnRest::load(vec![], &dir.join("nope"), Duration::from_secs(60)).unwrap_err();
        assert!(missing.contains("cannot read the TURN secret file") && missing.contains("nope"), "{missing}");
        let empty = dir.join("empty");
        std::fs::write(&empty, "\n").unwrap();
        let e = TurnRest::load(vec![], &empty, Duration::from_secs(60)).unwrap_err();
        assert!(e.contains("is empty"), "{e}");
        let good = dir.join("good");
        std::fs::write(&good, "abc\nignored\n").unwrap();
        assert_eq!(TurnRest::load(vec![], &good, Duration::from_secs(60)).unwrap().secret, b"abc");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
