//! Durations written as text in URLs and configuration files: a whole number and a
//! unit, `250ms`, `5s`, `2m` or `1h`.

use std::time::Duration;

/// `250ms`, `5s`, `2m`, `1h`; `None` for anything else (no unit, a fraction, a sign,
/// white space, an overflow).
pub(crate) fn parse(text: &str) -> Option<Duration> {
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().ok()?;
    let millis = match unit {
        "ms" => n,
        "s" => n.checked_mul(1_000)?,
        "m" => n.checked_mul(60_000)?,
        "h" => n.checked_mul(3_600_000)?,
        _ => return None,
    };
    Some(Duration::from_millis(millis))
}

/// Deserializes a [`Duration`] written as [`parse`] reads it.
#[cfg(feature = "serde")]
pub(crate) fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
    parse(&text).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "{text:?} is not a duration: write a whole number and a unit, 250ms, 5s, 2m or 1h"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_need_a_unit() {
        assert_eq!(parse("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse("5s"), Some(Duration::from_secs(5)));
        assert_eq!(parse("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse("1h"), Some(Duration::from_secs(3600)));
        for bad in [
            "5",
            "s",
            "",
            "-1s",
            "1.5s",
            "99999999999999999999h",
            "5 s",
            "5d",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
