//! Keyset paging: a page starts after (or ends before) the sort key of a row
//! already shown, so that a page costs the same however deep it is.

/// Where a page of a listing starts, by its sort key `K`, in the listing's
/// own order (usernames A to Z, events newest first).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seek<K> {
    /// From the start of the listing.
    First,
    /// The rows that come after this key.
    After(K),
    /// The rows that come before this key (the page before), listed in order.
    Before(K),
}

impl<K> Seek<K> {
    /// The seek a link carried as its `after` or `before` parameter (under
    /// the listing's own names), read by `parse`; from the start when
    /// neither reads.
    pub fn from_params(
        after: Option<&str>,
        before: Option<&str>,
        parse: impl Fn(&str) -> Option<K>,
    ) -> Seek<K> {
        match (after, before) {
            (Some(after), _) => parse(after).map_or(Seek::First, Seek::After),
            (None, Some(before)) => parse(before).map_or(Seek::First, Seek::Before),
            (None, None) => Seek::First,
        }
    }

    /// Whether the page is read against the listing's order (and reversed).
    pub(super) fn backwards(&self) -> bool {
        matches!(self, Seek::Before(_))
    }

    pub(super) fn key(&self) -> Option<&K> {
        match self {
            Seek::First => None,
            Seek::After(key) | Seek::Before(key) => Some(key),
        }
    }
}

impl<K: std::fmt::Display> Seek<K> {
    /// The parameter a link carries for this seek: `after` or `before` of
    /// `names`, with the key as text; none from the start.
    pub fn param<'n>(&self, names: (&'n str, &'n str)) -> Option<(&'n str, String)> {
        match self {
            Seek::First => None,
            Seek::After(key) => Some((names.0, key.to_string())),
            Seek::Before(key) => Some((names.1, key.to_string())),
        }
    }
}

/// One page of a listing, with whether there is more on either side.
#[derive(Debug)]
pub struct Paged<T> {
    pub rows: Vec<T>,
    pub earlier: bool,
    pub later: bool,
}

impl<T> Paged<T> {
    /// A page with nothing on it, nor on either side.
    pub fn empty() -> Paged<T> {
        Paged {
            rows: Vec::new(),
            earlier: false,
            later: false,
        }
    }

    /// The page from up to `size + 1` rows read in the direction of `seek`
    /// (already put back in the listing's order): the extra row only tells
    /// that there is more that way.
    pub(super) fn of<K>(mut rows: Vec<T>, size: usize, seek: &Seek<K>) -> Paged<T> {
        let more = rows.len() > size;
        match seek {
            Seek::Before(_) => {
                if more {
                    rows.drain(..rows.len() - size);
                }
                Paged {
                    rows,
                    earlier: more,
                    later: true,
                }
            }
            _ => {
                rows.truncate(size);
                Paged {
                    rows,
                    earlier: matches!(seek, Seek::After(_)),
                    later: more,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Paged, Seek};

    #[test]
    fn the_extra_row_tells_there_is_more() {
        let first = Paged::of(vec![1, 2, 3], 2, &Seek::<i32>::First);
        assert_eq!(
            (first.rows, first.earlier, first.later),
            (vec![1, 2], false, true)
        );
        let last = Paged::of(vec![5, 6], 2, &Seek::After(4));
        assert_eq!(
            (last.rows, last.earlier, last.later),
            (vec![5, 6], true, false)
        );
        let back = Paged::of(vec![1, 2, 3], 2, &Seek::Before(4));
        assert_eq!(
            (back.rows, back.earlier, back.later),
            (vec![2, 3], true, true)
        );
        let front = Paged::of(vec![1], 2, &Seek::Before(2));
        assert_eq!(
            (front.rows, front.earlier, front.later),
            (vec![1], false, true)
        );
    }
}
