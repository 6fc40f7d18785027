//! "Did you mean …?": the closest of a few names to one that is not among
//! them, by edit distance.

/// The edit distance between `a` and `b`, in characters: the fewest
/// insertions, deletions, substitutions and swaps of two neighbours that
/// turn one into the other (optimal string alignment).
pub(crate) fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // Three rows of the table: two back, one back, this one.
    let mut before: Vec<usize> = Vec::new();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut row = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (previous[j] + 1)
                .min(row[j - 1] + 1)
                .min(previous[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(before[j - 2] + 1);
            }
            row[j] = best;
        }
        before = std::mem::replace(&mut previous, row);
    }
    previous[b.len()]
}

/// The candidate a mistyped `input` most likely meant: the nearest by
/// [`distance`] if that is at most a third of the input's length (at least
/// 1), or else one that begins with the input (`rotation` →
/// `rotation_days`). Ties go to the earlier candidate.
pub(crate) fn closest<'c>(
    input: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) -> Option<&'c str> {
    let limit = (input.chars().count() / 3).max(1);
    let mut best: Option<(usize, &str)> = None;
    let mut prefixed = None;
    for candidate in candidates {
        let d = distance(input, candidate);
        if d <= limit && best.is_none_or(|(b, _)| d < b) {
            best = Some((d, candidate));
        }
        if prefixed.is_none() && input.chars().count() >= 3 && candidate.starts_with(input) {
            prefixed = Some(candidate);
        }
    }
    best.map(|(_, c)| c).or(prefixed)
}

/// `" (did you mean `x`?)"` for the closest candidate, or nothing.
pub(crate) fn did_you_mean<'c>(
    input: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) -> String {
    closest(input, candidates)
        .map(|c| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_counts_edits_and_swaps() {
        assert_eq!(distance("", ""), 0);
        assert_eq!(distance("abc", ""), 3);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("region", "regions"), 1);
        assert_eq!(distance("paralelism", "parallelism"), 1);
        assert_eq!(distance("eu-wset-1", "eu-west-1"), 1);
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("ab", "ba"), 1);
        assert_eq!(distance("é", "e"), 1);
    }

    #[test]
    fn closest_is_near_or_a_prefix() {
        let fields = ["rotation_days", "via_services", "service_principals"];
        assert_eq!(closest("rotation", fields), Some("rotation_days"));
        assert_eq!(closest("via_service", fields), Some("via_services"));
        assert_eq!(closest("alias", fields), None);
        assert_eq!(closest("id", ["ids", "name"]), Some("ids"));
        assert_eq!(closest("xy", ["ids"]), None);
        assert_eq!(closest("prd", ["prod", "staging"]), Some("prod"));
        assert_eq!(did_you_mean("prd", ["prod"]), " (did you mean `prod`?)");
        assert_eq!(did_you_mean("qa", ["prod"]), "");
    }
}
