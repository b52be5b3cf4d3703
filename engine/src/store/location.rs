//! Where runs are recorded: a state directory (sled, the default) or a team store on etcd,
//! named `etcd://HOST:PORT[,HOST:PORT...]/PREFIX` (`etcds://` for TLS).

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::StoreError;

/// How long a controller's hold on a cluster lasts without renewal, unless told otherwise.
pub const DEFAULT_LOCK_TTL: Duration = Duration::from_secs(15);

/// A parsed `--state` value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StateLocation {
    Dir(PathBuf),
    Etcd(EtcdLocation),
}

/// The members of an etcd cluster and the key prefix the store lives under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EtcdLocation {
    /// `HOST:PORT` of each member, as given.
    pub endpoints: Vec<String>,
    /// Starts with `/`, never ends with one: `/quorate/team-a`.
    pub prefix: String,
    /// `etcds://`: connect with TLS.
    pub tls: bool,
}

/// How to reach and hold an etcd store: TLS files, credentials, the lock's lease TTL.
/// The password is never printed (`Debug` leaves it out).
#[derive(Clone, Default)]
pub struct EtcdOptions {
    /// The CA certificate (PEM) that signed the members' certificates; implies TLS.
    pub ca_cert: Option<PathBuf>,
    /// The client certificate and key (PEM), for members that check clients.
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    pub user: Option<String>,
    pub password: Option<String>,
    /// The lease TTL of the cluster lock; [`DEFAULT_LOCK_TTL`] when None.
    pub lock_ttl: Option<Duration>,
}

impl fmt::Debug for EtcdOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EtcdOptions")
            .field("ca_cert", &self.ca_cert)
            .field("cert", &self.cert)
            .field("key", &self.key)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "(given)"))
            .field("lock_ttl", &self.lock_ttl)
            .finish()
    }
}

impl EtcdOptions {
    pub fn lock_ttl(&self) -> Duration {
        self.lock_ttl.unwrap_or(DEFAULT_LOCK_TTL)
    }
}

impl StateLocation {
    /// Reads a `--state` value: an `etcd://` or `etcds://` address, or a directory.
    pub fn parse(state: &Path) -> Result<Self, StoreError> {
        let Some(text) = state.to_str() else {
            return Ok(Self::Dir(state.to_path_buf()));
        };
        let (rest, tls) = if let Some(rest) = text.strip_prefix("etcd://") {
            (rest, false)
        } else if let Some(rest) = text.strip_prefix("etcds://") {
            (rest, true)
        } else {
            return Ok(Self::Dir(state.to_path_buf()));
        };
        if rest
            .split('/')
            .next()
            .is_some_and(|members| members.contains('@'))
        {
            // Not repeated in the message: the text before `@` may be a password.
            return Err(StoreError::Invalid(
                "--state: credentials do not belong in the etcd address (it is printed): use \
                 --etcd-user and QUORATE_ETCD_PASSWORD"
                    .to_owned(),
            ));
        }
        let bad = |why: &str| {
            StoreError::Invalid(format!(
                "--state {text}: {why}; the form is etcd://HOST:PORT[,HOST:PORT...]/PREFIX"
            ))
        };
        let (members, path) = rest
            .split_once('/')
            .ok_or_else(|| bad("it names no prefix"))?;
        let endpoints = members
            .split(',')
            .map(|m| endpoint(m).ok_or_else(|| bad(&format!("`{m}` is not HOST:PORT"))))
            .collect::<Result<Vec<_>, _>>()?;
        let path = path.trim_end_matches('/');
        if path.is_empty() || path.contains('\0') || path.split('/').any(str::is_empty) {
            return Err(bad(
                "the prefix must be a non-empty path such as /quorate/team-a",
            ));
        }
        Ok(Self::Etcd(EtcdLocation {
            endpoints,
            prefix: format!("/{path}"),
            tls,
        }))
    }
}

fn endpoint(member: &str) -> Option<String> {
    let (host, port) = member.rsplit_once(':')?;
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.[]:".contains(&b));
    (host_ok && port.parse::<u16>().is_ok_and(|p| p > 0)).then(|| member.to_owned())
}

impl fmt::Display for EtcdLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.tls { "etcds" } else { "etcd" };
        write!(f, "{scheme}://{}{}", self.endpoints.join(","), self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<StateLocation, String> {
        StateLocation::parse(Path::new(text)).map_err(|e| e.to_string())
    }

    #[test]
    fn directories_stay_directories() {
        assert_eq!(
            parse(".quorate").unwrap(),
            StateLocation::Dir(PathBuf::from(".quorate"))
        );
        assert_eq!(
            parse("/srv/etcd://x").unwrap(),
            StateLocation::Dir(PathBuf::from("/srv/etcd://x"))
        );
    }

    #[test]
    fn etcd_addresses_name_members_and_prefix() {
        let StateLocation::Etcd(at) =
            parse("etcd://127.0.0.1:2379,10.0.0.2:2379/quorate/a/").unwrap()
        else {
            panic!("not etcd")
        };
        assert_eq!(at.endpoints, ["127.0.0.1:2379", "10.0.0.2:2379"]);
        assert_eq!(at.prefix, "/quorate/a");
        assert!(!at.tls);
        assert_eq!(
            at.to_string(),
            "etcd://127.0.0.1:2379,10.0.0.2:2379/quorate/a"
        );
        let StateLocation::Etcd(at) = parse("etcds://e1:2379/q").unwrap() else {
            panic!("not etcd")
        };
        assert!(at.tls);
    }

    #[test]
    fn bad_addresses_say_what_is_wrong() {
        assert!(parse("etcd://h:2379")
            .unwrap_err()
            .contains("names no prefix"));
        assert!(parse("etcd://h/q")
            .unwrap_err()
            .contains("`h` is not HOST:PORT"));
        assert!(parse("etcd://h:99999/q")
            .unwrap_err()
            .contains("not HOST:PORT"));
        assert!(parse("etcd://h:1//")
            .unwrap_err()
            .contains("non-empty path"));
        let err = parse("etcd://u:pw@h:1/q").unwrap_err();
        assert!(err.contains("credentials do not belong"), "{err}");
        assert!(!err.contains("pw@"), "the password is not repeated: {err}");
    }

    #[test]
    fn the_password_is_not_debug_printed() {
        let options = EtcdOptions {
            password: Some("hunter2".to_owned()),
            ..EtcdOptions::default()
        };
        assert!(!format!("{options:?}").contains("hunter2"));
    }
}
