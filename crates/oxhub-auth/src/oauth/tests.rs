use super::*;

fn settings() -> OAuthSettings {
    OAuthSettings {
        class: "GenericOAuthenticator".into(),
        client_id: "hub".into(),
        client_secret: "s3cret".into(),
        authorize_url: "https://idp.example/auth?prompt=login".into(),
        token_url: "https://idp.example/token".into(),
        userdata_url: "https://idp.example/me".into(),
        enable_pkce: true,
        validate_server_cert: true,
        request_timeout: Duration::from_secs(5),
        ..OAuthSettings::default()
    }
}

fn query(url: &str) -> Vec<(String, String)> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

#[tokio::test]
async fn the_authorize_url_carries_state_pkce_and_nonce() {
    let mut s = settings();
    s.scope = vec!["openid".into(), "email".into()];
    s.extra_authorize_params = vec![("audience".into(), "api".into())];
    let a = OAuthAuthenticator::new(s).unwrap();
    let r = a
        .begin_redirect("st-1", "http://127.0.0.1:8000/hub/oauth_callback")
        .await
        .unwrap();
    let q = query(&r.url);
    let keys: Vec<&str> = q.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "prompt",
            "response_type",
            "redirect_uri",
            "client_id",
            "audience",
            "code_challenge",
            "code_challenge_method",
            "state",
            "scope",
            "nonce"
        ]
    );
    let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("state"), Some("st-1"));
    assert_eq!(get("scope"), Some("openid email"));
    assert_eq!(get("code_challenge_method"), Some("S256"));
    // The verifier and nonce stay with the hub; only the challenge travels.
    let verifier = r.keep["code_verifier"].as_str().unwrap();
    assert_eq!(verifier.len(), 43);
    assert!(!r.url.contains(verifier));
    assert_eq!(get("nonce"), r.keep["nonce"].as_str());
    assert_eq!(
        r.keep["redirect_uri"],
        "http://127.0.0.1:8000/hub/oauth_callback"
    );
}

#[tokio::test]
async fn a_configured_callback_url_wins_and_pkce_can_be_off() {
    let mut s = settings();
    s.callback_url = "https://hub.example/hub/oauth_callback".into();
    s.enable_pkce = false;
    let a = OAuthAuthenticator::new(s).unwrap();
    let r = a.begin_redirect("x", "http://guessed/").await.unwrap();
    let q = query(&r.url);
    assert!(q.contains(&(
        "redirect_uri".into(),
        "https://hub.example/hub/oauth_callback".into()
    )));
    assert!(!q.iter().any(|(k, _)| k == "code_challenge" || k == "nonce"));
    assert!(r.keep.get("code_verifier").is_none());
}

#[test]
fn settings_that_cannot_work_are_refused() {
    let mut s = settings();
    s.allowed_groups = vec!["staff".into()];
    let e = OAuthAuthenticator::new(s).err().unwrap();
    assert!(e.contains("manage_groups"), "{e}");
    let mut s = settings();
    s.userdata_from_id_token = true;
    assert!(OAuthAuthenticator::new(s).is_err());
    let mut s = settings();
    s.token_url.clear();
    assert!(OAuthAuthenticator::new(s).is_err());
    let mut s = settings();
    s.token_url.clear();
    s.authorize_url.clear();
    s.userdata_url.clear();
    s.issuer = "https://idp.example".into();
    assert!(OAuthAuthenticator::new(s).is_ok(), "discovery fills them");
}

#[tokio::test]
async fn callbacks_without_a_code_or_with_an_error_are_refused() {
    let a = OAuthAuthenticator::new(settings()).unwrap();
    let cb = |pairs: &[(&str, &str)]| LoginRequest::Callback {
        params: pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        callback_url: "/hub/oauth_callback".into(),
        kept: Value::Null,
    };
    let e = a.authenticate(&cb(&[])).await.unwrap_err();
    assert_eq!(
        e,
        AuthError::Invalid("OAuth callback made without a code".into())
    );
    let e = a
        .authenticate(&cb(&[
            ("error", "access_denied"),
            ("error_description", "no"),
        ]))
        .await
        .unwrap_err();
    assert_eq!(e, AuthError::Invalid("OAuth error: \"no\"".into()));
    let form = LoginRequest::password("a", "b");
    assert!(matches!(
        a.authenticate(&form).await,
        Err(AuthError::NotSupported(_))
    ));
}

#[test]
fn groups_come_from_a_dotted_path() {
    let state = json!({"oauth_user": {"groups": ["b", "a", "b", 7]}, "flat.key": ["x"]});
    assert_eq!(groups_at(&state, "oauth_user.groups"), ["7", "a", "b"]);
    assert_eq!(groups_at(&state, "flat.key"), ["x"]);
    assert!(groups_at(&state, "oauth_user.missing").is_empty());
    assert!(groups_at(&json!({"g": {"not": "a list"}}), "g").is_empty());
}

#[test]
fn scopes_are_split_on_spaces() {
    let tr = |v: Value| v.as_object().cloned().unwrap();
    assert_eq!(
        granted_scopes(&tr(json!({"scope": "openid  email"}))),
        ["openid", "email"]
    );
    assert!(granted_scopes(&tr(json!({}))).is_empty());
}
