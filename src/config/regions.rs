//! The AWS regions c3 knows, and what to say about a region it does not.
//!
//! [`KNOWN`] is the `regions` of the partitions `aws` (commercial),
//! `aws-cn` (China), `aws-us-gov` (GovCloud), `aws-iso` and `aws-iso-b`
//! in the partition data the AWS SDK bundles: aws-sdk-kms 1.129.0,
//! `src/endpoint_lib.rs` (`DEFAULT_PARTITION_RESOLVER`, the JSON passed to
//! `new_from_json`), without the `*-global` pseudo-regions. The SDK's other
//! partitions (`aws-iso-e`, `aws-iso-f`, `aws-eusc`) are left out because
//! [`crate::model::partition`] does not map them; a region of theirs, or
//! one newer than this list, is accepted when `[settings] allow_regions`
//! names it.
//!
//! To refresh after an SDK update, print the lists (set `V` to the
//! aws-sdk-kms version in Cargo.lock) and paste them into [`KNOWN`], sorted:
//!
//! ```text
//! V=1.129.0 python3 - <<'PY'
//! import glob, json, os, re
//! path = glob.glob(os.path.expanduser(
//!     '~/.cargo/registry/src/*/aws-sdk-kms-%s/src/endpoint_lib.rs' % os.environ['V']))[0]
//! blob = re.search(r'new_from_json\(b"(.*?)"\)', open(path).read(), re.S).group(1)
//! for p in json.loads(blob.encode().decode('unicode_escape'))['partitions']:
//!     if p['id'] in ('aws', 'aws-cn', 'aws-us-gov', 'aws-iso', 'aws-iso-b'):
//!         print(p['id'], sorted(r for r in p['regions'] if not r.endswith('-global')))
//! PY
//! ```

use super::suggest;

/// Every region c3 knows, sorted.
pub(crate) const KNOWN: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "cn-north-1",
    "cn-northwest-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-gov-east-1",
    "us-gov-west-1",
    "us-iso-east-1",
    "us-iso-west-1",
    "us-isob-east-1",
    "us-isob-west-1",
    "us-west-1",
    "us-west-2",
];

/// Whether c3 knows the region.
pub(crate) fn is_known(region: &str) -> bool {
    KNOWN.binary_search(&region).is_ok()
}

/// The known region a mistyped name most likely meant: one with the same
/// number (a region's number is not a typo: `us-east-9` is not
/// `us-east-1`), one edit away, or two with the same first part
/// (`eu-wset-1` → `eu-west-1`, but not `us-west-3` → `eu-west-3`).
pub(crate) fn closest(input: &str) -> Option<&'static str> {
    let input = input.to_lowercase();
    let same_number = KNOWN.iter().copied().filter(|known| {
        number(known) == number(&input) && {
            let d = suggest::distance(&input, known);
            d <= 1 || (d <= 2 && area(known) == area(&input))
        }
    });
    suggest::closest(&input, same_number)
}

/// The known regions to list when there is no close one: those of the same
/// name but another number (`us-east-9` → `us-east-1`, `us-east-2`), else of
/// the same area (`us-…`), else all of them.
pub(crate) fn related(input: &str) -> Vec<&'static str> {
    let input = input.to_lowercase();
    let stem = input.trim_end_matches(|c: char| c.is_ascii_digit());
    let with = |pred: &dyn Fn(&str) -> bool| -> Vec<&'static str> {
        KNOWN.iter().copied().filter(|k| pred(k)).collect()
    };
    let same_stem = with(&|k| k.trim_end_matches(|c: char| c.is_ascii_digit()) == stem);
    if !same_stem.is_empty() {
        return same_stem;
    }
    let same_area = with(&|k| area(k) == area(&input));
    if !same_area.is_empty() {
        return same_area;
    }
    KNOWN.to_vec()
}

/// The number at the end of a region name (`1` of `eu-west-1`).
fn number(region: &str) -> &str {
    let digits = region.len() - region.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    &region[region.len() - digits..]
}

/// The first part of a region name (`eu` of `eu-west-1`).
fn area(region: &str) -> &str {
    region.split('-').next().unwrap_or(region)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model;

    #[test]
    fn known_regions_are_sorted_region_names_of_partitions_c3_maps() {
        assert!(KNOWN.windows(2).all(|w| w[0] < w[1]), "sort KNOWN");
        for region in KNOWN {
            assert!(
                crate::config::validate::names::is_region(region),
                "{region}"
            );
        }
        let partition = |r: &str| model::partition(r);
        assert_eq!(partition("cn-northwest-1"), "aws-cn");
        assert_eq!(partition("us-gov-east-1"), "aws-us-gov");
        assert_eq!(partition("us-isob-west-1"), "aws-iso-b");
        assert!(is_known("eu-west-1") && is_known("us-isob-east-1"));
        assert!(!is_known("eu-wset-1") && !is_known("EU-WEST-1"));
    }

    #[test]
    fn closest_keeps_the_number_and_the_area() {
        assert_eq!(closest("eu-wset-1"), Some("eu-west-1"));
        assert_eq!(closest("EU-WEST-1"), Some("eu-west-1"));
        assert_eq!(closest("eu-west1"), Some("eu-west-1"));
        assert_eq!(closest("us-est-2"), Some("us-east-2"));
        assert_eq!(closest("ap-southest-2"), Some("ap-southeast-2"));
        assert_eq!(closest("us-east-9"), None);
        assert_eq!(closest("us-west-3"), None);
        assert_eq!(closest("mars-1"), None);
    }

    #[test]
    fn related_lists_the_same_name_then_the_same_area() {
        assert_eq!(related("us-east-9"), ["us-east-1", "us-east-2"]);
        assert_eq!(
            related("eu-west-4"),
            ["eu-west-1", "eu-west-2", "eu-west-3"]
        );
        assert_eq!(related("ca-east-1"), ["ca-central-1", "ca-west-1"]);
        assert_eq!(related("xx-south-1").len(), KNOWN.len());
    }
}
