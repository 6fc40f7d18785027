#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Mutex;

use tokio::sync::Semaphore;

use super::*;

/// An organization in memory whose listings answer two items per page,
/// and, before the last page of every listing, one empty page with a
/// NextToken (as Organizations may).
#[derive(Default)]
struct Fake {
    roots: Vec<String>,
    children: BTreeMap<String, Vec<String>>,
    accounts: BTreeMap<String, Vec<AccountRow>>,
    tags: BTreeMap<String, Vec<(String, String)>>,
    calls: Mutex<Vec<(String, Option<String>)>>,
}

/// Items of `all` for `token`: `p<n>` is the n-th page; the page before
/// the last is empty.
fn paged<T: Clone>(all: &[T], token: Option<String>) -> Page<T> {
    let chunks: Vec<Vec<T>> = all.chunks(2).map(<[T]>::to_vec).collect();
    let mut pages: Vec<Vec<T>> = chunks;
    if pages.len() > 1 {
        let last = pages.len() - 1;
        pages.insert(last, Vec::new());
    }
    if pages.is_empty() {
        pages.push(Vec::new());
    }
    let n = token.map_or(0, |t| t[1..].parse::<usize>().unwrap());
    let next = (n + 1 < pages.len()).then(|| format!("p{}", n + 1));
    page(pages[n].clone(), next.as_deref())
}

impl Fake {
    fn log(&self, what: &str, token: Option<&String>) {
        self.calls
            .lock()
            .unwrap()
            .push((what.to_string(), token.cloned()));
    }
}

impl OrgRead for Fake {
    async fn roots(&self, token: Option<String>) -> Result<Page<(String, String)>, AwsCallError> {
        self.log("ListRoots", token.as_ref());
        let roots: Vec<(String, String)> = self
            .roots
            .iter()
            .map(|r| {
                let arn = format!("arn:aws:organizations::999999999999:root/o-abcd1234/{r}");
                (r.clone(), arn)
            })
            .collect();
        Ok(paged(&roots, token))
    }
    async fn accounts(
        &self,
        parent: &str,
        token: Option<String>,
    ) -> Result<Page<AccountRow>, AwsCallError> {
        self.log(&format!("ListAccountsForParent {parent}"), token.as_ref());
        Ok(paged(
            self.accounts.get(parent).map_or(&[][..], Vec::as_slice),
            token,
        ))
    }
    async fn ous(&self, parent: &str, token: Option<String>) -> Result<Page<String>, AwsCallError> {
        self.log(&format!("ListOUs {parent}"), token.as_ref());
        Ok(paged(
            self.children.get(parent).map_or(&[][..], Vec::as_slice),
            token,
        ))
    }
    async fn tags(
        &self,
        account: &str,
        token: Option<String>,
    ) -> Result<Page<(String, String)>, AwsCallError> {
        self.log(&format!("ListTags {account}"), token.as_ref());
        Ok(paged(
            self.tags.get(account).map_or(&[][..], Vec::as_slice),
            token,
        ))
    }
}

const ROOT: &str = "r-ab12";
const A: &str = "ou-ab12-aaaaaaaa";
const B: &str = "ou-ab12-bbbbbbbb";
const C: &str = "ou-ab12-cccccccc"; // under B

fn row(n: usize, state: &str) -> AccountRow {
    AccountRow {
        id: format!("{:012}", 100_000_000_000 + n),
        name: format!("Account {n}"),
        state: state.into(),
    }
}

/// 30 active accounts: 10 under A, 10 under B, 10 under C (in B); one
/// suspended under A, one closed under C; the management account at the root.
fn organization() -> Fake {
    let mut f = Fake {
        roots: vec![ROOT.into()],
        ..Fake::default()
    };
    f.children.insert(ROOT.into(), vec![A.into(), B.into()]);
    f.children.insert(B.into(), vec![C.into()]);
    f.accounts.insert(ROOT.into(), vec![row(0, "ACTIVE")]);
    for (i, ou) in [A, B, C].iter().enumerate() {
        let mut rows: Vec<AccountRow> = (1..=10).map(|n| row(i * 10 + n, "ACTIVE")).collect();
        if *ou == A {
            rows.push(row(91, "SUSPENDED"));
        }
        if *ou == C {
            rows.push(row(92, "CLOSED"));
        }
        f.accounts.insert((*ou).into(), rows);
    }
    for n in 1..=30_u64 {
        let env = if n % 2 == 0 { "prod" } else { "dev" };
        f.tags.insert(
            format!("{:012}", 100_000_000_000_u64 + n),
            vec![("env".into(), env.into()), ("c3".into(), "enabled".into())],
        );
    }
    f
}

fn spec(parents: &[&str], root: bool, tags: &[(&str, &str)]) -> OrganizationSpec {
    OrganizationSpec {
        role_arn: None,
        external_id: None,
        parents: parents.iter().map(|s| (*s).to_string()).collect(),
        root,
        tags: tags
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect(),
        role_name: "c3".into(),
        regions: vec!["eu-west-1".into()],
        at: String::new(),
    }
}

async fn run(fake: &Fake, spec: &OrganizationSpec, need_tags: bool) -> Discovery {
    let gate = Semaphore::new(4);
    let calls = Calls::new(&gate, "organization", "global");
    discover(fake, &calls, spec, need_tags).await.unwrap()
}

#[tokio::test]
async fn the_ous_and_their_sub_ous_are_walked_and_only_active_accounts_kept() {
    let fake = organization();
    let found = run(&fake, &spec(&[A, B], false, &[]), false).await;
    assert_eq!(found.accounts.len(), 30);
    let a1 = &found.accounts[0];
    assert_eq!(a1.id, "100000000001");
    assert_eq!(a1.org_name, "Account 1");
    assert_eq!(a1.ous, [A]);
    let c = found
        .accounts
        .iter()
        .find(|a| a.id == "100000000021")
        .unwrap();
    assert_eq!(c.ous, [B, C]);
    assert_eq!(
        found.inactive,
        [
            (
                "100000000091".into(),
                "Account 91".into(),
                "SUSPENDED".into()
            ),
            ("100000000092".into(), "Account 92".into(), "CLOSED".into())
        ]
    );
    // No tag is asked for: none is read.
    let calls = fake.calls.lock().unwrap().clone();
    assert!(calls.iter().all(|(c, _)| !c.starts_with("ListTags")));
    // The empty page before the last one was followed by its token.
    assert!(calls.contains(&(format!("ListAccountsForParent {A}"), Some("p6".into()))));
}

#[tokio::test]
async fn an_empty_page_with_a_next_token_is_not_the_end() {
    // Page 0: [x, y] → p1; page 1: [] → p2; page 2: [z], no token.
    let items = vec![1, 2, 3];
    assert_eq!(paged(&items, None).items, [1, 2]);
    let empty = paged(&items, Some("p1".into()));
    assert!(empty.items.is_empty());
    assert!(empty.truncated);
    let got = crate::aws::pages::collect_pages("ListThings", |t| {
        let items = items.clone();
        async move { Ok(paged(&items, t)) }
    })
    .await
    .unwrap();
    assert_eq!(got, [1, 2, 3]);
    // A page with no token is the last, an empty token too.
    assert!(!page::<u8>(vec![], None).truncated);
    assert!(!page::<u8>(vec![], Some("")).truncated);
}

#[tokio::test]
async fn the_root_gives_every_account_with_its_path() {
    let fake = organization();
    let found = run(&fake, &spec(&[], true, &[]), false).await;
    assert_eq!(found.accounts.len(), 31);
    assert_eq!(found.accounts[0].ous, [ROOT]);
    let c = found
        .accounts
        .iter()
        .find(|a| a.id == "100000000030")
        .unwrap();
    assert_eq!(c.ous, [ROOT, B, C]);
    // The management account, named by the root's ARN.
    assert_eq!(found.management.as_deref(), Some("999999999999"));
    let from_ous = run(&fake, &spec(&[B], false, &[]), false).await;
    assert_eq!(from_ous.management, None);
}

#[tokio::test]
async fn a_tag_filter_keeps_the_tagged_accounts_only() {
    let fake = organization();
    let found = run(&fake, &spec(&[A, B], false, &[("env", "prod")]), false).await;
    assert_eq!(found.accounts.len(), 15);
    assert_eq!(found.untagged, 15);
    assert!(found
        .accounts
        .iter()
        .all(|a| a.tags.get("env").map(String::as_str) == Some("prod")));
}

// A parent and one of its sub-OUs both in `parents`: the account
// under the sub-OU must still be known to sit under the outer OU.
#[tokio::test]
async fn nested_parents_keep_the_outer_ou_in_the_path() {
    let fake = organization();
    for parents in [[B, C], [C, B]] {
        let found = run(&fake, &spec(&parents, false, &[]), false).await;
        let c = found
            .accounts
            .iter()
            .find(|a| a.id == "100000000021")
            .unwrap();
        assert_eq!(
            c.ous,
            [B, C],
            "{parents:?}: account in C (under B) lost B from its OU path"
        );
    }
}
