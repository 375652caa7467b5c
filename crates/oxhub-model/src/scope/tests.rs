//! Table-driven tests of the scope engine, one `check_*` helper per area. The expected values
//! are scopes.md's worked examples where it has them.

use super::*;
use serde_json::json;

/// Test membership: alice and bob are in `staff`, carol in `guests`.
struct Groups;

impl Membership for Groups {
    fn user_in_group(&self, user: &str, group: &str) -> bool {
        matches!(
            (user, group),
            ("alice", "staff") | ("bob", "staff") | ("carol", "guests")
        )
    }
}

fn set(scopes: &[&str]) -> ScopeSet {
    ScopeSet::parse_expanded(scopes).unwrap()
}

fn sorted(scopes: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

// --- §1 the table -------------------------------------------------------------------------

fn check_full_expansion(base: &str, implied: &[&str]) {
    let vocab = Vocabulary::builtin();
    let got: Vec<&str> = vocab.full_expansion(base).unwrap().into_iter().collect();
    let mut want: Vec<&str> = implied.to_vec();
    want.push(base);
    want.sort();
    assert_eq!(got, want, "full expansion of {base}");
}

#[test]
fn table_full_expansions() {
    // "Full expansion (besides itself)" column of scopes.md §1
    let cases: &[(&str, &[&str])] = &[
        ("(no_scope)", &[]),
        ("admin-ui", &[]),
        (
            "admin:users",
            &[
                "admin:auth_state",
                "delete:users",
                "list:users",
                "read:roles:users",
                "read:users",
                "read:users:activity",
                "read:users:groups",
                "read:users:name",
                "users",
                "users:activity",
            ],
        ),
        (
            "users",
            &[
                "list:users",
                "read:users",
                "read:users:activity",
                "read:users:groups",
                "read:users:name",
                "users:activity",
            ],
        ),
        ("list:users", &["read:users:name"]),
        (
            "read:users",
            &[
                "read:users:name",
                "read:users:groups",
                "read:users:activity",
            ],
        ),
        (
            "read:roles",
            &[
                "read:roles:users",
                "read:roles:services",
                "read:roles:groups",
            ],
        ),
        ("users:activity", &["read:users:activity"]),
        (
            "admin:servers",
            &[
                "admin:server_state",
                "delete:servers",
                "read:servers",
                "read:users:name",
                "servers",
                "start:servers",
            ],
        ),
        (
            "servers",
            &[
                "read:servers",
                "start:servers",
                "delete:servers",
                "read:users:name",
            ],
        ),
        ("read:servers", &["read:users:name"]),
        ("start:servers", &[]),
        ("tokens", &["read:tokens"]),
        (
            "admin:groups",
            &[
                "delete:groups",
                "groups",
                "list:groups",
                "read:groups",
                "read:groups:name",
                "read:roles:groups",
            ],
        ),
        (
            "groups",
            &["read:groups", "list:groups", "read:groups:name"],
        ),
        ("list:groups", &["read:groups:name"]),
        ("read:groups", &["read:groups:name"]),
        (
            "admin:services",
            &[
                "list:services",
                "read:services",
                "read:roles:services",
                "read:services:name",
            ],
        ),
        ("list:services", &["read:services:name"]),
        ("read:services", &["read:services:name"]),
        ("users:shares", &["read:users:shares"]),
        ("groups:shares", &["read:groups:shares"]),
        (
            "shares",
            &[
                "access:servers",
                "read:shares",
                "users:shares",
                "groups:shares",
                "read:users:shares",
                "read:groups:shares",
            ],
        ),
        ("proxy", &[]),
        ("read:metrics", &[]),
    ];
    for (base, implied) in cases {
        check_full_expansion(base, implied);
    }
}

#[test]
fn table_is_consistent() {
    let mut names = BTreeSet::new();
    for d in SCOPES {
        assert!(names.insert(d.name), "duplicate {}", d.name);
        assert!(!d.description.is_empty(), "{} has no description", d.name);
        assert!(
            !d.description.contains('\n'),
            "{} description spans lines",
            d.name
        );
    }
    for d in SCOPES {
        for sub in d.subscopes {
            assert!(names.contains(sub), "{} → unknown {sub}", d.name);
        }
    }
    assert_eq!(SCOPES.len(), 48);
    let vocab = Vocabulary::builtin();
    assert_eq!(
        vocab.description("(no_scope)"),
        Some("Identify owner only.")
    );
    assert_eq!(vocab.description("nope"), None);
}

// --- §2 parsing -----------------------------------------------------------------------------

/// `Ok(display)` round-trips; `Err(fragment)` must appear in the error message.
fn check_parse(input: &str, want: Result<&str, &str>) {
    let got = Vocabulary::builtin().check(input);
    match (got, want) {
        (Ok(spec), Ok(display)) => assert_eq!(spec.to_string(), display, "{input}"),
        (Err(e), Err(fragment)) => {
            assert!(e.to_string().contains(fragment), "{input}: {e}")
        }
        (got, want) => panic!("{input}: got {got:?}, want {want:?}"),
    }
}

#[test]
fn scope_parsing() {
    let cases: &[(&str, Result<&str, &str>)] = &[
        ("read:users", Ok("read:users")),
        ("read:users!user=alice", Ok("read:users!user=alice")),
        ("servers!server=alice/", Ok("servers!server=alice/")),
        ("servers!server=alice/gpu", Ok("servers!server=alice/gpu")),
        ("read:groups!group=staff", Ok("read:groups!group=staff")),
        (
            "access:services!service=svc",
            Ok("access:services!service=svc"),
        ),
        ("users:activity!user", Ok("users:activity!user")),
        ("access:servers!server", Ok("access:servers!server")),
        ("access:services!service", Ok("access:services!service")),
        ("read:users!user=a=b", Ok("read:users!user=a=b")),
        // errors
        ("read:users!group", Err("Scope filter '!group'")),
        ("read:users!team=x", Err("Scope filter '!team=x'")),
        ("read:users!users=x", Err("does not exist")),
        (
            "read:users!user=",
            Err("Empty string is not a valid filter"),
        ),
        (
            "read:users!server=",
            Err("Empty string is not a valid filter"),
        ),
        ("read:users!", Err("Empty string is not a valid filter")),
        ("read:user", Err("Scope 'read:user' does not exist")),
        ("all", Err("now called 'inherit'")),
        ("all!user=alice", Err("now called 'inherit'")),
        ("identify", Err("Scope 'identify' does not exist")),
        ("custom:x:y", Err("does not exist")),
    ];
    for &(input, want) in cases {
        check_parse(input, want);
    }
    let spec = ScopeSpec::parse("servers!server=alice/gpu").unwrap();
    assert_eq!(
        spec.filter,
        Some(Filter::Named(Kind::Server, "alice/gpu".into()))
    );
    assert_eq!(
        ScopeSpec::parse("users:activity!user").unwrap().filter,
        Some(Filter::Owner(Kind::User))
    );
}

// --- reduction -------------------------------------------------------------------------------

fn check_reduce(input: &[&str], want: &[&str]) {
    assert_eq!(set(input).to_strings(), sorted(want), "{input:?}");
}

#[test]
fn unfiltered_absorbs_filtered() {
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["access:services", "access:services!service=x"],
            &["access:services"],
        ),
        (
            &["access:services!service=x", "access:services"],
            &["access:services"],
        ),
        (
            &[
                "read:users!user=a",
                "read:users!user=a",
                "read:users!group=g",
            ],
            &["read:users!group=g", "read:users!user=a"],
        ),
        // no cross-kind absorption: a user filter does not swallow that user's servers
        (
            &["read:servers!user=a", "read:servers!server=a/x"],
            &["read:servers!server=a/x", "read:servers!user=a"],
        ),
        (&[], &[]),
    ];
    for (input, want) in cases {
        check_reduce(input, want);
    }
    assert!(matches!(
        ScopeSet::parse_expanded(&["read:users!user"]),
        Err(ScopeError::Unexpanded(_))
    ));
    let mut s = set(&["tokens!user=a"]);
    s.extend(&set(&["tokens"]));
    assert_eq!(s.grant("tokens"), Some(&Grant::All));
}

// --- §2/§3 expansion for an owner ------------------------------------------------------------

struct ExpandCase<'a> {
    scopes: &'a [&'a str],
    owner: Option<Owner<'a>>,
    client: Option<Client<'a>>,
    want: &'a [&'a str],
    inherit: bool,
    warnings: usize,
}

fn check_expand(case: &ExpandCase<'_>) {
    let got = Vocabulary::builtin()
        .expand(case.scopes, case.owner, case.client)
        .unwrap();
    assert_eq!(
        got.scopes.to_strings(),
        sorted(case.want),
        "{:?}",
        case.scopes
    );
    assert_eq!(got.inherit, case.inherit, "{:?} inherit", case.scopes);
    assert_eq!(
        got.warnings.len(),
        case.warnings,
        "{:?} warnings {:?}",
        case.scopes,
        got.warnings
    );
}

const ALICE: Option<Owner<'static>> = Some(Owner::User("alice"));
const SVC: Option<Owner<'static>> = Some(Owner::Service("svc"));

/// scopes.md §3: `self` for alice, verbatim.
const ALICE_SELF: &[&str] = &[
    "access:servers!user=alice",
    "delete:servers!user=alice",
    "read:servers!user=alice",
    "read:shares!user=alice",
    "read:tokens!user=alice",
    "read:users!user=alice",
    "read:users:activity!user=alice",
    "read:users:groups!user=alice",
    "read:users:name!user=alice",
    "read:users:shares!user=alice",
    "servers!user=alice",
    "start:servers!user=alice",
    "tokens!user=alice",
    "users:activity!user=alice",
    "users:shares!user=alice",
];

#[test]
fn expansion_for_owner() {
    let server_x = Some(Client::Server {
        user: "alice",
        server: "x",
    });
    let cases = [
        ExpandCase {
            scopes: &["self"],
            owner: ALICE,
            client: None,
            want: ALICE_SELF,
            inherit: false,
            warnings: 0,
        },
        // self resolves to nothing for a service
        ExpandCase {
            scopes: &["self"],
            owner: SVC,
            client: None,
            want: &[],
            inherit: false,
            warnings: 1,
        },
        // the `server` default role for alice's server x
        ExpandCase {
            scopes: &["users:activity!user", "access:servers!server"],
            owner: ALICE,
            client: server_x,
            want: &[
                "access:servers!server=alice/x",
                "read:users:activity!user=alice",
                "users:activity!user=alice",
            ],
            inherit: false,
            warnings: 0,
        },
        // ... without an issuing server, `!server` cannot resolve
        ExpandCase {
            scopes: &["users:activity!user", "access:servers!server"],
            owner: ALICE,
            client: None,
            want: &[
                "read:users:activity!user=alice",
                "users:activity!user=alice",
            ],
            inherit: false,
            warnings: 1,
        },
        // `!user` for a service is dropped
        ExpandCase {
            scopes: &["read:users!user", "read:hub"],
            owner: SVC,
            client: None,
            want: &["read:hub"],
            inherit: false,
            warnings: 1,
        },
        // `!service`: owner service, overridden by the issuing service client
        ExpandCase {
            scopes: &["access:services!service"],
            owner: SVC,
            client: None,
            want: &["access:services!service=svc"],
            inherit: false,
            warnings: 0,
        },
        ExpandCase {
            scopes: &["access:services!service"],
            owner: ALICE,
            client: Some(Client::Service("other")),
            want: &["access:services!service=other"],
            inherit: false,
            warnings: 0,
        },
        // §2 note: a !server filter does not pass to read:user… subscopes
        ExpandCase {
            scopes: &["read:servers!server=alice/x"],
            owner: ALICE,
            client: None,
            want: &["read:servers!server=alice/x"],
            inherit: false,
            warnings: 0,
        },
        ExpandCase {
            scopes: &["servers!server=alice/"],
            owner: None,
            client: None,
            want: &[
                "delete:servers!server=alice/",
                "read:servers!server=alice/",
                "servers!server=alice/",
                "start:servers!server=alice/",
            ],
            inherit: false,
            warnings: 0,
        },
        // ... including the scope itself
        ExpandCase {
            scopes: &["read:users!server=alice/x"],
            owner: None,
            client: None,
            want: &[],
            inherit: false,
            warnings: 0,
        },
        // other filters do pass to every subscope
        ExpandCase {
            scopes: &["servers!group=staff"],
            owner: None,
            client: None,
            want: &[
                "delete:servers!group=staff",
                "read:servers!group=staff",
                "read:users:name!group=staff",
                "servers!group=staff",
                "start:servers!group=staff",
            ],
            inherit: false,
            warnings: 0,
        },
        // unfiltered absorbs what self implies
        ExpandCase {
            scopes: &["self", "tokens"],
            owner: ALICE,
            client: None,
            want: &[
                "access:servers!user=alice",
                "delete:servers!user=alice",
                "read:servers!user=alice",
                "read:shares!user=alice",
                "read:tokens",
                "read:users!user=alice",
                "read:users:activity!user=alice",
                "read:users:groups!user=alice",
                "read:users:name!user=alice",
                "read:users:shares!user=alice",
                "servers!user=alice",
                "start:servers!user=alice",
                "tokens",
                "users:activity!user=alice",
                "users:shares!user=alice",
            ],
            inherit: false,
            warnings: 0,
        },
        // inherit is reported, not kept
        ExpandCase {
            scopes: &["inherit", "read:hub"],
            owner: ALICE,
            client: None,
            want: &["read:hub"],
            inherit: true,
            warnings: 0,
        },
        ExpandCase {
            scopes: &["inherit!user=alice"],
            owner: ALICE,
            client: None,
            want: &[],
            inherit: false,
            warnings: 1,
        },
        ExpandCase {
            scopes: &["(no_scope)"],
            owner: SVC,
            client: None,
            want: &["(no_scope)"],
            inherit: false,
            warnings: 0,
        },
    ];
    for case in &cases {
        check_expand(case);
    }
    let vocab = Vocabulary::builtin();
    assert_eq!(
        vocab.expand(&["read:users", "all"], ALICE, None),
        Err(ScopeError::LegacyAll)
    );
    assert_eq!(
        vocab.expand(&["bogus"], ALICE, None),
        Err(ScopeError::Unknown("bogus".into()))
    );
}

#[test]
fn identify_and_access_scopes() {
    assert_eq!(
        identify_scopes(Owner::User("alice")).to_strings(),
        sorted(&["read:users:name!user=alice", "read:users:groups!user=alice"])
    );
    assert_eq!(
        identify_scopes(Owner::Service("svc")).to_strings(),
        sorted(&["read:services:name!service=svc"])
    );
    let server = Client::Server {
        user: "alice",
        server: "",
    };
    assert_eq!(
        access_scopes(Some(server)).to_strings(),
        sorted(&["access:servers!server=alice/"])
    );
    assert_eq!(
        access_scopes(Some(Client::Service("svc"))).to_strings(),
        sorted(&["access:services!service=svc"])
    );
    assert!(access_scopes(None).is_empty());
    // OAuth requests: `identify` is dropped silently, the raw identify scopes expand
    assert_eq!(
        without_identify(&["identify", "read:hub"]),
        vec!["read:hub"]
    );
    let raw = Vocabulary::builtin()
        .expand(&RAW_IDENTIFY_SCOPES, ALICE, None)
        .unwrap();
    assert_eq!(raw.scopes, identify_scopes(Owner::User("alice")));
}

// --- §5 intersection -------------------------------------------------------------------------

fn check_intersect(a: &[&str], b: &[&str], want: &[&str]) {
    let (a, b) = (set(a), set(b));
    assert_eq!(
        a.intersect(&b, &Groups).to_strings(),
        sorted(want),
        "{a:?} ∩ {b:?}"
    );
    assert_eq!(
        b.intersect(&a, &Groups).to_strings(),
        sorted(want),
        "{b:?} ∩ {a:?}"
    );
}

#[test]
fn intersections() {
    let cases: &[(&[&str], &[&str], &[&str])] = &[
        // scopes.md §5 example
        (
            &["access:servers!server=alice/x"],
            &["access:servers!user=alice"],
            &["access:servers!server=alice/x"],
        ),
        (&["read:hub"], &["read:hub"], &["read:hub"]),
        (&["read:hub"], &["proxy"], &[]),
        (
            &["read:users"],
            &["read:users!user=alice", "read:users!group=staff"],
            &["read:users!group=staff", "read:users!user=alice"],
        ),
        (&["read:users!user=alice"], &["read:users!user=bob"], &[]),
        (
            &["read:users!user=alice", "read:users!user=bob"],
            &["read:users!user=bob"],
            &["read:users!user=bob"],
        ),
        // user ∈ group via Membership
        (
            &["read:users!user=alice", "read:users!user=carol"],
            &["read:users!group=staff"],
            &["read:users!user=alice"],
        ),
        // server's user ∈ group
        (
            &[
                "access:servers!server=bob/x",
                "access:servers!server=carol/y",
            ],
            &["access:servers!group=staff"],
            &["access:servers!server=bob/x"],
        ),
        // group ∩ group is by name only
        (
            &["read:groups!group=staff"],
            &["read:groups!group=guests"],
            &[],
        ),
        // a user filter does not cover another user's server
        (
            &["access:servers!server=bob/x"],
            &["access:servers!user=alice"],
            &[],
        ),
        // kinds that have no hierarchy only meet by name
        (
            &["access:services!service=a"],
            &["access:services!user=alice"],
            &[],
        ),
    ];
    for (a, b, want) in cases {
        check_intersect(a, b, want);
    }
}

#[test]
fn token_scopes_intersect_with_owner() {
    let vocab = Vocabulary::builtin();
    let owner_scopes = vocab.expand(&["self"], ALICE, None).unwrap().scopes;
    // a token issued by alice's server x, asking for more than alice holds
    let got = vocab
        .token_scopes(
            &["access:servers!server=alice/x", "read:users"],
            Owner::User("alice"),
            Some(Client::Server {
                user: "alice",
                server: "x",
            }),
            &owner_scopes,
            &Groups,
        )
        .unwrap();
    assert_eq!(
        got.scopes.to_strings(),
        sorted(&[
            "access:servers!server=alice/x",
            "read:users!user=alice",
            "read:users:activity!user=alice",
            "read:users:groups!user=alice",
            "read:users:name!user=alice",
        ])
    );
    assert_eq!(
        got.discarded,
        sorted(&[
            "read:users",
            "read:users:activity",
            "read:users:groups",
            "read:users:name",
        ])
    );
    // inherit: exactly the owner's scopes
    let inherit = vocab
        .token_scopes(
            &["inherit"],
            Owner::User("alice"),
            None,
            &owner_scopes,
            &Groups,
        )
        .unwrap();
    assert_eq!(inherit.scopes, owner_scopes);
    // a service with no roles keeps nothing, not even its identify scopes
    let svc = vocab
        .token_scopes(
            &["read:hub"],
            Owner::Service("svc"),
            None,
            &ScopeSet::new(),
            &Groups,
        )
        .unwrap();
    assert!(svc.scopes.is_empty());
    assert_eq!(
        svc.discarded,
        sorted(&["read:hub", "read:services:name!service=svc"])
    );
}

// --- access checks (hub-api.md §1 outcome codes) ---------------------------------------------

fn check_access(held: &[&str], required: &[&str], resource: Resource<'_>, want: Access) {
    let got = set(held).check(required, &resource, &Groups);
    assert_eq!(got, want, "{held:?} needs {required:?} on {resource:?}");
}

#[test]
fn access_outcomes() {
    use Access::*;
    let alice_x = Resource::Server {
        user: "alice",
        server: "x",
    };
    let carol_x = Resource::Server {
        user: "carol",
        server: "x",
    };
    let cases: &[(&[&str], &[&str], Resource<'_>, Access)] = &[
        (&["read:hub"], &["read:hub"], Resource::Global, Allowed),
        (&[], &["read:hub"], Resource::Global, Forbidden),
        (
            &["read:users"],
            &["read:users"],
            Resource::User("bob"),
            Allowed,
        ),
        (
            &["read:users!user=alice"],
            &["read:users"],
            Resource::User("alice"),
            Allowed,
        ),
        // filter mismatch → 404, lacking the scope → 403
        (
            &["read:users!user=alice"],
            &["read:users"],
            Resource::User("bob"),
            NotFound,
        ),
        (
            &["read:users!user=alice"],
            &["delete:users"],
            Resource::User("bob"),
            Forbidden,
        ),
        // any of: a later scope can allow even if an earlier one is held for others only
        (
            &["read:users!user=alice", "read:users:name"],
            &["read:users", "read:users:name"],
            Resource::User("bob"),
            Allowed,
        ),
        // server → user fallback
        (&["servers!user=alice"], &["servers"], alice_x, Allowed),
        (&["servers!server=alice/x"], &["servers"], alice_x, Allowed),
        (&["servers!server=alice/y"], &["servers"], alice_x, NotFound),
        (
            &["servers!server=alice/"],
            &["servers"],
            Resource::Server {
                user: "alice",
                server: "",
            },
            Allowed,
        ),
        // user/server → group membership
        (&["servers!group=staff"], &["servers"], alice_x, Allowed),
        (&["servers!group=staff"], &["servers"], carol_x, NotFound),
        (
            &["read:users!group=staff"],
            &["read:users"],
            Resource::User("bob"),
            Allowed,
        ),
        (
            &["read:users!group=staff"],
            &["read:users"],
            Resource::User("carol"),
            NotFound,
        ),
        // groups and services match by name only
        (
            &["read:groups!group=staff"],
            &["read:groups"],
            Resource::Group("staff"),
            Allowed,
        ),
        (
            &["read:groups!group=staff"],
            &["read:groups"],
            Resource::Group("guests"),
            NotFound,
        ),
        (
            &["read:groups!user=alice"],
            &["read:groups"],
            Resource::Group("staff"),
            NotFound,
        ),
        (
            &["read:services!service=a"],
            &["read:services"],
            Resource::Service("a"),
            Allowed,
        ),
        (
            &["read:services!service=a"],
            &["read:services"],
            Resource::Service("b"),
            NotFound,
        ),
        // a filtered grant does not open a resource-less endpoint (no post_filter)
        (
            &["proxy!user=alice"],
            &["proxy"],
            Resource::Global,
            Forbidden,
        ),
    ];
    for &(held, required, resource, want) in cases {
        check_access(held, required, resource, want);
    }
}

#[test]
fn listing_post_filter() {
    let held = set(&["list:users!group=staff", "read:users:name!user=carol"]);
    assert_eq!(held.check_listing(&["list:users"]), Access::Allowed);
    assert_eq!(held.check_listing(&["list:groups"]), Access::Forbidden);
    let shown: Vec<&str> = ["alice", "bob", "carol", "dave"]
        .into_iter()
        .filter(|u| held.permits("list:users", &Resource::User(u), &Groups))
        .collect();
    assert_eq!(shown, ["alice", "bob"]);
    assert!(held.permits("read:users:name", &Resource::User("carol"), &Groups));
    assert!(!held.permits("read:users:name", &Resource::User("alice"), &Groups));
    // a closure is a Membership too
    let nobody = |_: &str, _: &str| false;
    assert!(!held.permits("list:users", &Resource::User("alice"), &nobody));
}

// --- §7 custom scopes ------------------------------------------------------------------------

/// `Ok(expansion of the first key)` or `Err(fragment of the message)`.
fn check_custom(defs: Value, want: Result<&[&str], &str>) {
    let Value::Object(defs) = defs else {
        panic!("not an object")
    };
    let first = defs.keys().next().cloned().unwrap_or_default();
    match (Vocabulary::with_custom_scopes(&defs), want) {
        (Ok((vocab, _)), Ok(expansion)) => {
            let got: Vec<&str> = vocab.full_expansion(&first).unwrap().into_iter().collect();
            assert_eq!(got, expansion, "{first}");
        }
        (Err(e), Err(fragment)) => assert!(e.to_string().contains(fragment), "{e}"),
        (got, want) => panic!("{defs:?}: got {got:?}, want {want:?}"),
    }
}

#[test]
fn custom_scopes() {
    let cases: Vec<(Value, Result<&[&str], &str>)> = vec![
        (
            json!({
                "custom:jupyter_server:read": {
                    "description": "read-only access",
                    "subscopes": ["custom:jupyter_server:read:contents"]
                },
                "custom:jupyter_server:read:contents": {"description": "read files"}
            }),
            Ok(&[
                "custom:jupyter_server:read",
                "custom:jupyter_server:read:contents",
            ]),
        ),
        (
            json!({"custom:a*b_": {"description": "ok"}}),
            Ok(&["custom:a*b_"]),
        ),
        (
            json!({"custom:abc": {"description": "d", "subscopes": []}}),
            Ok(&["custom:abc"]),
        ),
        // a cycle terminates
        (
            json!({
                "custom:aaa": {"description": "a", "subscopes": ["custom:bbb"]},
                "custom:bbb": {"description": "b", "subscopes": ["custom:aaa"]}
            }),
            Ok(&["custom:aaa", "custom:bbb"]),
        ),
        // key regex
        (
            json!({"custom:ab": {"description": "d"}}),
            Err("Invalid scope name"),
        ),
        (
            json!({"custom:-abc": {"description": "d"}}),
            Err("Invalid scope name"),
        ),
        (
            json!({"custom:abc-": {"description": "d"}}),
            Err("Invalid scope name"),
        ),
        (
            json!({"custom:abc:": {"description": "d"}}),
            Err("Invalid scope name"),
        ),
        (
            json!({"custom:Abc": {"description": "d"}}),
            Err("Invalid scope name"),
        ),
        (
            json!({"custom:a.bc": {"description": "d"}}),
            Err("Invalid scope name"),
        ),
        (
            json!({"mine:abc": {"description": "d"}}),
            Err("Invalid scope name"),
        ),
        (
            json!({"read:users": {"description": "d"}}),
            Err("Cannot redefine scope read:users"),
        ),
        // description
        (json!({"custom:abc": {}}), Err("missing key 'description'")),
        (
            json!({"custom:abc": "text"}),
            Err("missing key 'description'"),
        ),
        (
            json!({"custom:abc": {"description": 3}}),
            Err("missing key 'description'"),
        ),
        // subscopes
        (
            json!({"custom:abc": {"description": "d", "subscopes": ["read:users"]}}),
            Err("non-custom subscope read:users in custom:abc"),
        ),
        (
            json!({"custom:abc": {"description": "d", "subscopes": ["custom:zzz"]}}),
            Err("subscope custom:zzz in custom:abc not found"),
        ),
        (
            json!({"custom:abc": {"description": "d", "subscopes": "custom:abc"}}),
            Err("must be a list"),
        ),
    ];
    for (defs, want) in cases {
        check_custom(defs, want);
    }
}

#[test]
fn custom_scopes_in_expansion_and_warnings() {
    let defs = json!({
        "custom:srv:read": {"description": "r", "subscopes": ["custom:srv:read:files"], "color": 1},
        "custom:srv:read:files": {"description": "f"}
    });
    let Value::Object(defs) = defs else {
        panic!("not an object")
    };
    let (vocab, warnings) = Vocabulary::with_custom_scopes(&defs).unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("color"));
    assert_eq!(vocab.description("custom:srv:read"), Some("r"));
    let got = vocab
        .expand(
            &["custom:srv:read!server", "read:hub"],
            ALICE,
            Some(Client::Server {
                user: "alice",
                server: "",
            }),
        )
        .unwrap();
    assert_eq!(
        got.scopes.to_strings(),
        sorted(&[
            "custom:srv:read!server=alice/",
            "custom:srv:read:files!server=alice/",
            "read:hub",
        ])
    );
    // the built-in vocabulary does not know them
    assert!(Vocabulary::builtin().check("custom:srv:read").is_err());
}

// --- §4 default roles ------------------------------------------------------------------------

#[test]
fn default_roles() {
    let vocab = Vocabulary::builtin();
    let names: Vec<&str> = DEFAULT_ROLES.iter().map(|r| r.name).collect();
    assert_eq!(names, ["user", "admin", "server", "token"]);
    for role in DEFAULT_ROLES {
        assert!(
            crate::names::RoleName::parse(role.name).is_ok(),
            "{}",
            role.name
        );
        for scope in role.scopes {
            vocab.check(scope).unwrap();
        }
    }
    assert_eq!(default_role("user").map(|r| r.scopes), Some(&["self"][..]));
    assert_eq!(
        default_role("token").map(|r| r.scopes),
        Some(&["inherit"][..])
    );
    assert!(default_role("staff").is_none());
    // the admin role reaches every scope but the metascopes and (no_scope)
    let admin = vocab
        .expand(
            default_role("admin").map_or(&[][..], |r| r.scopes),
            ALICE,
            None,
        )
        .unwrap();
    assert!(admin.warnings.is_empty());
    let missing: Vec<&str> = SCOPES
        .iter()
        .map(|d| d.name)
        .filter(|n| admin.scopes.grant(n).is_none())
        .collect();
    assert_eq!(missing, ["(no_scope)", "self", "inherit"]);
}

#[test]
fn only_group_filters_need_a_membership_lookup() {
    let set = ScopeSet::parse_expanded(&[
        "read:users!user=alice",
        "admin:users!group=staff",
        "list:users",
    ])
    .unwrap();
    assert!(!set.needs_membership(&["read:users"]));
    assert!(!set.needs_membership(&["list:users"]));
    assert!(set.needs_membership(&["read:users", "admin:users"]));
    assert!(!set.needs_membership(&["delete:users"]));
}
