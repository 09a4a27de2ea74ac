//! Salesforce record ids: 15-character case-sensitive ids and their 18-character case-safe
//! form (three checksum characters that encode which letters are upper case).

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const SUFFIX: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";

/// The 18-character form of a 15-character id.
pub fn to18(id15: &str) -> String {
    let bytes = id15.as_bytes();
    if bytes.len() != 15 {
        return id15.to_string();
    }
    let mut out = id15.to_string();
    for chunk in bytes.chunks(5) {
        let mut flags = 0usize;
        for (i, c) in chunk.iter().enumerate() {
            if c.is_ascii_uppercase() {
                flags |= 1 << i;
            }
        }
        out.push(SUFFIX[flags] as char);
    }
    out
}

/// Normalize a path or body id (15 or 18 characters) to 18; anything else is not an id.
pub fn normalize(id: &str) -> Option<String> {
    if !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    match id.len() {
        15 => Some(to18(id)),
        18 if to18(&id[..15]) == id => Some(id.to_string()),
        _ => None,
    }
}

/// The id of the `n`th record with this key prefix (`001` Account, `00Q` Lead, ...).
pub fn make(prefix: &str, n: u64) -> String {
    let mut digits = [b'0'; 7];
    let mut v = n;
    for d in digits.iter_mut().rev() {
        *d = BASE62[(v % 62) as usize];
        v /= 62;
    }
    let id15 = format!("{prefix}5g000{}", String::from_utf8_lossy(&digits));
    to18(&id15)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checksum_matches_salesforce_published_example() {
        // The example id used throughout Salesforce's REST documentation.
        assert_eq!(to18("001D000000IqhSL"), "001D000000IqhSLIAZ");
    }

    #[test]
    fn made_ids_are_18_characters_and_validate() {
        let id = make("00Q", 12345);
        assert_eq!(id.len(), 18);
        assert_eq!(normalize(&id), Some(id.clone()));
        assert_eq!(normalize(&id[..15]), Some(id.clone()));
        assert_eq!(normalize("00Q5g0000000abcXXX"), None);
        assert!(make("001", 1) < make("001", 2));
    }
}
