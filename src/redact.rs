//! The crate's one redaction of connection strings.

/// Words that make a query parameter a secret when its (percent-decoded, lower-cased)
/// name contains one: `password`, `pass`, `token`, `secret`, `api_key`, `key`, and
/// the like (`tlsCertificateKeyFilePassword`, `authSource` is spared only by not
/// containing any of them).
const SECRET_WORDS: [&str; 6] = ["pass", "secret", "token", "key", "auth", "credential"];

/// `url` as it may be shown (in `Debug`, errors, logs): the user and password replaced
/// by `***`, and the value of every query parameter whose name looks like a secret
/// (`password`, `pass`, `token`, `secret`, `api_key`, `key`, …, matched after
/// percent-decoding and ignoring case) replaced by `***`; a `#fragment` is dropped.
///
/// Every store, [`open`](crate::open) and the fuzz oracles use this one function. With
/// a network store's feature on, URLs are parsed with the `url` crate; a string it
/// cannot parse as a URL with a host — or any string, in a build with only the embedded
/// stores, which leaves the `url` crate out — is redacted as plain text: everything up
/// to its last `@`, and every secret-looking `name=value` pair after it.
///
/// ```
/// use kv_store_adapter::redact;
/// assert_eq!(redact("redis://u:hunter2@h:6379/0"), "redis://***@h:6379/0");
/// assert_eq!(redact("redis://h/0?pass%77ord=hunter2&db=1"), "redis://h/0?pass%77ord=***&db=1");
/// assert!(!redact("mongodb://h/?apiKey=hunter2").contains("hunter2"));
/// ```
pub fn redact(url: &str) -> String {
    #[cfg(any(
        feature = "redis",
        feature = "memcached",
        feature = "mongodb",
        feature = "elasticsearch"
    ))]
    match url::Url::parse(url) {
        // Without an authority (`user:pass@host:1` parses as scheme `user`), user info
        // would be read as a path: redact as text.
        Ok(parsed) if parsed.has_host() && !parsed.host_str().unwrap_or("").is_empty() => {
            redact_parsed(url, parsed)
        }
        _ => redact_text(url),
    }
    #[cfg(not(any(
        feature = "redis",
        feature = "memcached",
        feature = "mongodb",
        feature = "elasticsearch"
    )))]
    redact_text(url)
}

/// Whether a parameter named `name` holds a secret.
pub(crate) fn is_secret(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_WORDS.iter().any(|word| name.contains(word))
}

#[cfg(any(
    feature = "redis",
    feature = "memcached",
    feature = "mongodb",
    feature = "elasticsearch"
))]
fn redact_parsed(original: &str, mut url: url::Url) -> String {
    if !url.username().is_empty() || url.password().is_some() {
        // Both can fail only for URLs that cannot have credentials, which have none.
        let _ = url.set_password(None);
        let _ = url.set_username("***");
    }
    if let Some(query) = url.query() {
        let query = redact_query(query);
        url.set_query(Some(&query));
    }
    // A fragment means nothing to a server; it could hide anything.
    url.set_fragment(None);
    let shown = String::from(url);
    if shown.contains(['\r', '\n']) {
        return redact_text(original);
    }
    shown
}

/// Each `name=value` pair of a raw query with a secret-looking name gets `***` as its
/// value; everything else is kept byte for byte (no re-encoding). A pair holding
/// several `=` (`a=b?password=x`) counts everything before its last `=` as the name.
fn redact_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| {
            let name = pair.split_once('=').map_or(pair, |(name, _)| name);
            let head = pair.rsplit_once('=').map_or(pair, |(head, _)| head);
            let decoded: String = form_urlencoded::parse(head.as_bytes())
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            if is_secret(&decoded) || is_secret(head) {
                format!("{name}=***")
            } else {
                pair.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn redact_text(url: &str) -> String {
    let url = url.split('#').next().unwrap_or_default();
    // Everything up to the last `@` (after any `scheme://`): more than the user info
    // when a path or query holds an `@`, never less.
    let (mut out, rest) = match url.rfind('@') {
        Some(at) => {
            let start = url[..at].find("://").map_or(0, |i| i + 3);
            let out = format!("{}***@", &url[..start]);
            if url[..at].contains('?') {
                // The `@` was in the query: all that follows is query too.
                return out + &redact_query(&url[at + 1..]);
            }
            (out, &url[at + 1..])
        }
        None => (String::new(), url),
    };
    match rest.split_once('?') {
        Some((base, query)) => {
            out.push_str(base);
            out.push('?');
            out.push_str(&redact_query(query));
        }
        None => out.push_str(rest),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn userinfo_and_secret_parameters_are_hidden() {
        let cases = [
            ("redis://u:secret@h:1/0", "redis://***@h:1/0"),
            ("redis://:secret@h:1/0", "redis://***@h:1/0"),
            ("redis://h:1/0", "redis://h:1/0"),
            (
                "redis://h/?password=secret&db=1",
                "redis://h/?password=***&db=1",
            ),
            ("redis://h/?pass=secret", "redis://h/?pass=***"),
            ("redis://h/?PASS%57ORD=secret", "redis://h/?PASS%57ORD=***"),
            ("redis://h/?p%61ss=secret", "redis://h/?p%61ss=***"),
            (
                "http://h/?api_key=secret&token=secret",
                "http://h/?api_key=***&token=***",
            ),
            ("http://h/?apiKey=secret", "http://h/?apiKey=***"),
            ("http://h/?key=secret", "http://h/?key=***"),
            (
                "mongodb://a:b@h/?tlsCertificateKeyFilePassword=x&appName=y&Token=z",
                "mongodb://***@h/?tlsCertificateKeyFilePassword=***&appName=y&Token=***",
            ),
            // An `@` in the query: the parser (network features) sees no user info;
            // the text fallback (embedded builds, no URLs to parse) hides more.
            #[cfg(any(
                feature = "redis",
                feature = "memcached",
                feature = "mongodb",
                feature = "elasticsearch"
            ))]
            ("redis://h/?a@b=1", "redis://h/?a@b=1"),
            #[cfg(not(any(
                feature = "redis",
                feature = "memcached",
                feature = "mongodb",
                feature = "elasticsearch"
            )))]
            ("redis://h/?a@b=1", "redis://***@b=1"),
            (
                "redis://[::1]:6379/?password=secret",
                "redis://[::1]:6379/?password=***",
            ),
        ];
        for (url, shown) in cases {
            assert_eq!(redact(url), shown, "{url}");
        }
    }

    #[test]
    fn unparsable_strings_are_redacted_as_text() {
        for url in [
            "mongodb://u:secret@h1:1,h2:2/?password=secret",
            "redis://u:secret@[bad/",
            "u:secret@host:11211?token=secret",
            "memcached://u:s%65cret@h:1",
        ] {
            let shown = redact(url);
            assert!(!shown.contains("secret"), "{url} -> {shown}");
            assert!(!shown.contains("s%65cret"), "{url} -> {shown}");
        }
    }
}
