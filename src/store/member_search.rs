//! Reading members by the start of a username or email address: the keys
//! compared (folded the same way for every database), the place of a member
//! in a listing, and the SQL of each ordered index range a listing reads.

use super::seek::Seek;
use super::Backend;

/// Where a member sits in a listing: the key that placed them there, then
/// their id (written `id:key` where a link carries it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactKey {
    pub key: String,
    pub id: String,
}

impl ContactKey {
    /// The place a link carried, if it reads as one.
    pub fn parse(text: &str) -> Option<ContactKey> {
        let (id, key) = text.split_once(':')?;
        (!id.is_empty()).then(|| ContactKey {
            key: key.to_string(),
            id: id.to_string(),
        })
    }
}

impl std::fmt::Display for ContactKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.id, self.key)
    }
}

/// What a search compares: the text trimmed and case folded, the same way
/// for every database (stored beside each username and email address).
pub(super) fn search_key(text: &str) -> String {
    text.trim().to_lowercase()
}

/// The keys that start with `search`: from its key (inclusive) to its key
/// followed by the last character (exclusive), compared byte by byte.
fn prefix_range(search: &str) -> (String, String) {
    let low = search_key(search);
    let mut high = low.clone();
    high.push(char::MAX);
    (low, high)
}

/// The orders a listing reads, each one range of its own index read in
/// order, so that a page costs the same however many members match and
/// however deep it is: members by username, and for a search also the
/// members whose email address matches where their username does not. Most
/// email addresses start with their member's username (`alice`,
/// `alice@example.com`): for those, an email that matches where the username
/// does not means the username is a shorter part of the search, a handful of
/// exact lookups (`Extending`); the rest have their own index (`Emails`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Stream {
    Usernames,
    Emails,
    Extending,
}

/// The partial index of the email addresses that do not start with their
/// member's username, as the migration writes it.
const OWN_EMAIL: &str = "substr(u.email_key, 1, length(u.username_key)) <> u.username_key";

impl Stream {
    /// The streams of a search: usernames alone when there is none.
    pub(super) fn of(search: &str) -> &'static [Stream] {
        match search_key(search).chars().count() {
            0 => &[Stream::Usernames],
            1 => &[Stream::Usernames, Stream::Emails],
            _ => &[Stream::Usernames, Stream::Emails, Stream::Extending],
        }
    }

    pub(super) fn column(self) -> &'static str {
        match self {
            Stream::Usernames => "username_key",
            Stream::Emails | Stream::Extending => "email_key",
        }
    }
}

/// The `from users u where ...` of one stream of a listing (an account's
/// members, or everyone's), its `order by`, and its binds in placeholder order.
pub(super) fn stream_filter(
    stream: Stream,
    backend: Backend,
    account: Option<&str>,
    search: &str,
    without_factor: bool,
    from: &Seek<ContactKey>,
) -> (String, String, Vec<String>) {
    let column = format!("u.{}", stream.column());
    // Ids in byte order on both databases, as the indexes hold them.
    let id_column = match backend {
        Backend::Sqlite => "u.id",
        Backend::Postgres => "u.id collate \"C\"",
    };
    let mut binds: Vec<String> = Vec::new();
    let mut next = |bind: String| {
        binds.push(bind);
        format!("${}", binds.len())
    };
    let mut sql = String::from("from users u where ");
    if let Some(account) = account {
        sql.push_str(&format!("u.account_id = {}", next(account.to_string())));
    } else {
        sql.push_str("1 = 1");
    }
    let key = search_key(search);
    if !key.is_empty() {
        let (low, high) = prefix_range(search);
        let (low, high) = (next(low), next(high));
        sql.push_str(&format!(" and {column} >= {low} and {column} < {high}"));
        match stream {
            Stream::Usernames => {}
            Stream::Emails => sql.push_str(&format!(
                " and {OWN_EMAIL} and not (u.username_key >= {low} and u.username_key < {high})"
            )),
            Stream::Extending => {
                // The usernames that are a shorter start of the search.
                let shorter: Vec<String> = key
                    .char_indices()
                    .skip(1)
                    .map(|(end, _)| next(key[..end].to_string()))
                    .collect();
                sql.push_str(&format!(
                    " and u.username_key in ({}) and not ({OWN_EMAIL})",
                    shorter.join(", ")
                ));
            }
        }
    }
    if without_factor {
        sql.push_str(" and u.second_factors = 0");
    }
    let backwards = from.backwards();
    if let Some(ContactKey { key, id }) = from.key() {
        let (op, edge) = if backwards { ('<', "<=") } else { ('>', ">=") };
        let (key, id) = (next(key.clone()), next(id.clone()));
        sql.push_str(&format!(
            " and {column} {edge} {key} and ({column} {op} {key} or {id_column} {op} {id})"
        ));
    }
    let direction = if backwards { "desc" } else { "asc" };
    let order = format!("order by {column} {direction}, {id_column} {direction}");
    (sql, order, binds)
}

/// The first `n` of the streams' rows in the listing's direction (each
/// stream read no more than `n` rows, so this sorts a few dozen).
pub(super) fn merge<T>(
    streams: Vec<Vec<T>>,
    n: usize,
    key: fn(&T) -> (&str, &str),
    backwards: bool,
) -> Vec<T> {
    let mut rows: Vec<T> = streams.into_iter().flatten().collect();
    rows.sort_by(|a, b| {
        let order = key(a).cmp(&key(b));
        if backwards {
            order.reverse()
        } else {
            order
        }
    });
    rows.truncate(n);
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(key: &str, id: &str) -> ContactKey {
        ContactKey {
            key: key.to_string(),
            id: id.to_string(),
        }
    }

    #[test]
    fn search_keys_fold_case_and_trim() {
        assert_eq!(search_key("  Mia.Ng@Example.COM "), "mia.ng@example.com");
        assert_eq!(search_key("ÉLODIE"), "élodie");
        assert_eq!(search_key(""), "");
    }

    #[test]
    fn a_prefix_is_a_range_of_keys() {
        let (low, high) = prefix_range("Mi");
        assert_eq!(low, "mi");
        assert!(high.as_str() > "mia" && high.as_str() > "mi\u{ffff}");
        assert!(high.as_str() < "mj" && low.as_str() <= "mi");
        // Pattern characters mean themselves.
        assert_eq!(prefix_range("a_%").0, "a_%");
    }

    #[test]
    fn keys_read_back_or_not_at_all() {
        let written = key("ada@example.com", "user-ada");
        assert_eq!(written.to_string(), "user-ada:ada@example.com");
        assert_eq!(ContactKey::parse(&written.to_string()), Some(written));
        assert_eq!(ContactKey::parse("user-x:"), Some(key("", "user-x")));
        for bad in ["", "alice", ":alice"] {
            assert_eq!(ContactKey::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn each_stream_reads_one_range_of_its_index() {
        let (sql, order, binds) = stream_filter(
            Stream::Usernames,
            Backend::Sqlite,
            Some("acct"),
            "",
            false,
            &Seek::First,
        );
        assert_eq!(sql, "from users u where u.account_id = $1");
        assert_eq!(order, "order by u.username_key asc, u.id asc");
        assert_eq!(binds, ["acct".to_string()]);

        let after = Seek::After(key("mia", "user-mia"));
        let (sql, _, binds) = stream_filter(
            Stream::Usernames,
            Backend::Sqlite,
            Some("acct"),
            " ",
            true,
            &after,
        );
        assert_eq!(
            sql,
            "from users u where u.account_id = $1 and u.second_factors = 0 \
             and u.username_key >= $2 and (u.username_key > $2 or u.id > $3)"
        );
        assert_eq!(binds[1..], ["mia".to_string(), "user-mia".to_string()]);

        let before = Seek::Before(key("bob@x", "user-bob"));
        let (sql, order, binds) = stream_filter(
            Stream::Emails,
            Backend::Postgres,
            None,
            "Al",
            false,
            &before,
        );
        assert_eq!(
            sql,
            format!(
                "from users u where 1 = 1 and u.email_key >= $1 and u.email_key < $2 \
                 and {OWN_EMAIL} and not (u.username_key >= $1 and u.username_key < $2) \
                 and u.email_key <= $3 and (u.email_key < $3 or u.id collate \"C\" < $4)"
            )
        );
        assert_eq!(order, "order by u.email_key desc, u.id collate \"C\" desc");
        assert_eq!(binds[0], "al");
    }

    #[test]
    fn the_streams_merge_in_the_listings_order() {
        fn pair<'a>(p: &(&'a str, &'a str)) -> (&'a str, &'a str) {
            (p.0, p.1)
        }
        let usernames = vec![("alice", "1"), ("ana", "3")];
        let emails = vec![("al@x", "2"), ("az@x", "4")];
        assert_eq!(
            merge(vec![usernames.clone(), emails.clone()], 3, pair, false),
            vec![("al@x", "2"), ("alice", "1"), ("ana", "3")]
        );
        assert_eq!(
            merge(vec![usernames, emails, vec![("ana", "2")]], 3, pair, true),
            vec![("az@x", "4"), ("ana", "3"), ("ana", "2")]
        );
        assert_eq!(
            merge(Vec::<Vec<(&str, &str)>>::new(), 5, pair, false),
            vec![]
        );
    }

    #[test]
    fn a_username_shorter_than_the_search_is_looked_up_exactly() {
        assert_eq!(Stream::of(" "), &[Stream::Usernames]);
        assert_eq!(Stream::of("a"), &[Stream::Usernames, Stream::Emails]);
        let (sql, _, binds) = stream_filter(
            Stream::Extending,
            Backend::Sqlite,
            Some("acct"),
            "Al@",
            false,
            &Seek::First,
        );
        assert!(
            sql.contains(" and u.username_key in ($4, $5) and not (substr("),
            "{sql}"
        );
        assert_eq!(binds[3..], ["a".to_string(), "al".to_string()]);
        let (_, _, binds) = stream_filter(
            Stream::Extending,
            Backend::Sqlite,
            None,
            "éa",
            false,
            &Seek::First,
        );
        assert_eq!(binds[2..], ["é".to_string()], "by characters, not bytes");
    }
}
