//! Paged listings, followed to the end and checked on the way: a truncated
//! page without a marker, or a marker seen twice, is an error, so a partial
//! listing is never mistaken for a complete one.
//!
//! It knows nothing of permits, pacing or progress: callers wrap each page's
//! call in whatever they need (`fetch` makes one call per page). A listing's
//! SDK output becomes a [`Page`] by `From` (ListPolicyTags here).

use std::collections::HashSet;
use std::future::Future;

use super::AwsCallError;

/// One page of a listing, as the API returned it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Whether more pages follow (`Truncated` / `IsTruncated`).
    pub truncated: bool,
    /// The marker of the next page (`NextMarker` / `Marker`).
    pub next_marker: Option<String>,
}

impl<T> Page<T> {
    /// A last page.
    pub fn last(items: Vec<T>) -> Self {
        Self {
            items,
            truncated: false,
            next_marker: None,
        }
    }
}

impl From<&aws_sdk_iam::operation::list_policy_tags::ListPolicyTagsOutput>
    for Page<(String, String)>
{
    /// A page of ListPolicyTags: (key, value) pairs.
    fn from(out: &aws_sdk_iam::operation::list_policy_tags::ListPolicyTagsOutput) -> Self {
        Self {
            items: out
                .tags()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect(),
            truncated: out.is_truncated(),
            next_marker: out.marker().map(str::to_string),
        }
    }
}

/// Every item of a paged listing of `operation`: `fetch` is called with the
/// marker of each page (`None` for the first) until a page is not truncated.
pub async fn collect_pages<T, F, Fut>(
    operation: &'static str,
    mut fetch: F,
) -> Result<Vec<T>, AwsCallError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<Page<T>, AwsCallError>>,
{
    let mut items = Vec::new();
    let mut marker: Option<String> = None;
    let mut seen = HashSet::new();
    loop {
        let page = fetch(marker.take()).await?;
        items.extend(page.items);
        if !page.truncated {
            return Ok(items);
        }
        let Some(next) = page.next_marker else {
            return Err(AwsCallError::protocol(
                operation,
                "the response is truncated but has no marker for the next page",
            ));
        };
        if !seen.insert(next.clone()) {
            return Err(AwsCallError::protocol(
                operation,
                format!("the service returned the page marker {next:?} twice"),
            ));
        }
        marker = Some(next);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Pages of `pages`, the n-th answered for marker `m<n>`.
    async fn list(pages: &[(Vec<u32>, bool, Option<&str>)]) -> Result<Vec<u32>, AwsCallError> {
        collect_pages("ListThings", |marker| {
            let n = marker.map_or(0, |m| m[1..].parse::<usize>().unwrap());
            let (items, truncated, next) = pages[n].clone();
            async move {
                Ok(Page {
                    items,
                    truncated,
                    next_marker: next.map(str::to_string),
                })
            }
        })
        .await
    }

    #[tokio::test]
    async fn pages_are_followed_until_one_is_not_truncated() {
        let pages = [
            (vec![1, 2], true, Some("m1")),
            (vec![3], true, Some("m2")),
            (vec![4], false, Some("ignored")),
        ];
        assert_eq!(list(&pages).await.unwrap(), vec![1, 2, 3, 4]);
    }

    #[tokio::test]
    async fn a_truncated_page_without_a_marker_is_an_error() {
        let err = list(&[(vec![1], true, None)]).await.unwrap_err();
        assert_eq!(err.operation, "ListThings");
        assert!(err.message.contains("no marker"), "{err}");
    }

    #[tokio::test]
    async fn a_marker_seen_twice_is_an_error() {
        let pages = [(vec![1], true, Some("m1")), (vec![2], true, Some("m1"))];
        let err = list(&pages).await.unwrap_err();
        assert!(err.message.contains("twice"), "{err}");
    }
}
