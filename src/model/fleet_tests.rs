use std::collections::BTreeMap;

use super::*;

type Row = (String, String, Vec<String>, BTreeMap<String, String>);

fn org(id: &str, name: &str, ous: &[&str], tags: &[(&str, &str)]) -> OrgAccount {
    OrgAccount {
        id: id.into(),
        org_name: name.into(),
        ous: ous.iter().map(|s| (*s).to_string()).collect(),
        tags: tags
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect(),
    }
}

fn rollout(waves: &[&[&str]]) -> Rollout {
    Rollout {
        waves: waves
            .iter()
            .map(|w| {
                w.iter()
                    .map(|t| Selector {
                        text: (*t).into(),
                        at: String::new(),
                    })
                    .collect()
            })
            .collect(),
        max_concurrent_accounts: 2,
        failure_tolerance: 0,
        region_order: None,
        at: String::new(),
    }
}

fn members(accounts: &[OrgAccount], names: &[String]) -> Vec<Row> {
    accounts
        .iter()
        .zip(names)
        .map(|(a, n)| (n.clone(), a.id.clone(), a.ous.clone(), a.tags.clone()))
        .collect()
}

fn as_members(m: &[Row]) -> Vec<Member<'_>> {
    m.iter()
        .map(|(name, id, ous, tags)| Member {
            name,
            id,
            ous,
            tags,
        })
        .collect()
}

#[test]
fn names_are_slugs_and_clashes_get_the_id() {
    let accounts = [
        org("111111111111", "Payments Prod", &[], &[]),
        org("222222222222", "Shared", &[], &[]),
        org("333333333333", "shared", &[], &[]),
        org("444444444444", "!!!", &[], &[]),
        org("555555555555", "canary", &[], &[]),
    ];
    let declared = [Account {
        name: "canary".into(),
        id: "999999999999".into(),
        role_arn: None,
        external_id: None,
        regions: vec!["eu-west-1".into()],
    }];
    assert_eq!(
        account_names(&accounts, &declared),
        [
            "payments-prod",
            "shared-222222222222",
            "shared-333333333333",
            "account-444444444444",
            "canary-555555555555"
        ]
    );
}

#[test]
fn waves_take_each_account_once_and_star_the_rest() {
    let accounts = [
        org("111111111111", "canary", &["r-ab12"], &[]),
        org("222222222222", "a1", &["r-ab12", "ou-ab12-aaaaaaaa"], &[]),
        org(
            "333333333333",
            "a2",
            &["r-ab12", "ou-ab12-aaaaaaaa", "ou-ab12-cccccccc"],
            &[],
        ),
        org(
            "444444444444",
            "b1",
            &["r-ab12", "ou-ab12-bbbbbbbb"],
            &[("env", "prod")],
        ),
    ];
    let names = account_names(&accounts, &[]);
    let m = members(&accounts, &names);
    let waves = assign(
        &rollout(&[&["canary"], &["ou:ou-ab12-aaaaaaaa"], &["*"]]),
        &as_members(&m),
    )
    .unwrap();
    assert_eq!(
        waves.accounts,
        [
            vec!["111111111111".to_string()],
            vec!["222222222222".into(), "333333333333".into()],
            vec!["444444444444".into()]
        ]
    );
    assert_eq!(waves.taken_by["333333333333"], (1, 0));
    let by_tag = assign(
        &rollout(&[&["tag:env=prod", "a*"], &["*"]]),
        &as_members(&m),
    )
    .unwrap();
    assert_eq!(by_tag.wave_of("444444444444"), Some(0));
    assert_eq!(by_tag.wave_of("222222222222"), Some(0));
    assert_eq!(by_tag.wave_of("111111111111"), Some(1));
}

#[test]
fn every_problem_of_the_waves_is_found() {
    let accounts = [
        org("111111111111", "canary", &["r-ab12"], &[]),
        org("222222222222", "a1", &["r-ab12", "ou-ab12-aaaaaaaa"], &[]),
    ];
    let names = account_names(&accounts, &[]);
    let m = members(&accounts, &names);
    let problems = assign(
        &rollout(&[&["canary", "nobody"], &["a1"], &["a*"], &["ou:bad"]]),
        &as_members(&m),
    )
    .unwrap_err();
    assert_eq!(
        problems,
        [
            WaveProblem::MatchesNothing((0, 1)),
            WaveProblem::InTwoWaves {
                account: "a1".into(),
                first: (1, 0),
                second: (2, 0)
            },
            WaveProblem::Malformed(
                (3, 0),
                "\"bad\" is not an OU id (ou-<4 to 32 of a-z 0-9>-<8 to 32 of a-z 0-9>) nor a root id (r-<4 to 32 of a-z 0-9>)".into()
            ),
        ]
    );
    let twice = assign(&rollout(&[&["*"], &["*"]]), &as_members(&m)).unwrap_err();
    assert_eq!(twice, [WaveProblem::RestTwice((1, 0))]);
    let none = assign(&rollout(&[&["canary"]]), &as_members(&m)).unwrap_err();
    assert_eq!(none, [WaveProblem::InNoWave("a1".into())]);
}

#[test]
fn ids_and_globs() {
    assert!(is_ou_id("ou-ab12-cd34ef56"));
    assert!(!is_ou_id("ou-AB12-cd34ef56"));
    assert!(!is_ou_id("ou-ab12-cd34"));
    assert!(is_root_id("r-ab12"));
    assert!(!is_root_id("r-a"));
    assert!(glob("prod-*", "prod-eu"));
    assert!(glob("a?c", "abc"));
    assert!(!glob("prod-*", "staging"));
}

// An account both declared and found under an OU: `ou:` picks it.
#[test]
fn a_declared_account_also_in_the_organization_keeps_its_ou_for_the_waves() {
    let toml = r#"
version = 1
[classifications.internal]
[accounts.prod]
id = "111111111111"
regions = ["eu-west-1"]

[organization]
parents = ["ou-ab12-aaaaaaaa"]
role_name = "c3"
regions = ["eu-west-1"]

[rollout]
waves = [["ou:ou-ab12-aaaaaaaa"], ["*"]]

[[keys]]
name = "app"
classification = "internal"
"#;
    let mut desired = crate::config::parse(toml, "keys.toml").unwrap();
    desired.join_discovered(vec![
        org("111111111111", "Prod", &["ou-ab12-aaaaaaaa"], &[]),
        org("222222222222", "Other", &["ou-ab12-aaaaaaaa"], &[]),
    ]);
    let waves = assign(desired.fleet.rollout.as_ref().unwrap(), &desired.members()).unwrap();
    assert_eq!(
        waves.wave_of("111111111111"),
        Some(0),
        "declared prod sits in ou A but lands in wave {:?}",
        waves.wave_of("111111111111").map(|w| w + 1)
    );
}

// A renamed clash (`shared-222222222222`) can be another account's plain
// name: that one is renamed too, and every name stays unique.
#[test]
fn discovered_names_are_unique_even_after_renaming() {
    let accounts = [
        org("222222222222", "shared", &[], &[]),
        org("333333333333", "Shared", &[], &[]),
        org("444444444444", "shared-222222222222", &[], &[]),
    ];
    let names = account_names(&accounts, &[]);
    let set: BTreeSet<&String> = names.iter().collect();
    assert_eq!(set.len(), names.len(), "duplicate names: {names:?}");
    assert_eq!(
        names,
        [
            "shared-222222222222",
            "shared-333333333333",
            "shared-222222222222-444444444444"
        ]
    );
}
