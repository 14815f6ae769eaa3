use super::*;

#[test]
fn validate_normalises_or_names_the_field() {
    let new = NewTrustedOrigin::new(" Shop ", "HTTPS://Shop.Example.com:443", [ScopeType::Cors]);
    let valid = new.validate().unwrap();
    assert_eq!(valid.name, "Shop");
    assert_eq!(valid.origin.as_str(), "https://shop.example.com");
    let new = NewTrustedOrigin::new("Shop", "shop.example.com", [ScopeType::Cors]);
    assert_eq!(new.validate().unwrap_err().field(), "origin");
}

#[test]
fn errors_name_each_wrong_field_once_and_agree_with_validate() {
    let fields = |new: &NewTrustedOrigin| -> Vec<&'static str> {
        new.errors().iter().map(RegistryError::field).collect()
    };
    let good = NewTrustedOrigin::new("Shop", "https://shop.example.com", [ScopeType::Cors]);
    assert!(good.errors().is_empty() && good.validate().is_ok());
    // A plain-http wildcard trusted for CORS is the origin's fault, once.
    let wildcard = NewTrustedOrigin::new("", "http://*.example.com", [ScopeType::Cors]);
    assert_eq!(fields(&wildcard), ["name", "origin"]);
    let wildcard = NewTrustedOrigin::new("W", "http://*.example.com", [ScopeType::Cors]);
    assert_eq!(fields(&wildcard), ["origin"]);
    assert_eq!(wildcard.validate().unwrap_err(), wildcard.errors()[0]);
    // An Okta application on another scope, with a bad origin: both named.
    let mut apps = NewTrustedOrigin::new("A", "nope", []);
    apps.scopes = vec![Scope {
        kind: ScopeType::Cors,
        allowed_okta_apps: [OktaApp::OktaEnduser].into_iter().collect(),
    }];
    assert_eq!(fields(&apps), ["origin", "allowedOktaApps"]);
    // validate reports the first of them.
    assert_eq!(apps.validate().unwrap_err(), apps.errors()[0]);
}

#[test]
fn serializes_in_okta_field_names() {
    let origin = TrustedOrigin {
        id: "tosue7JvguwJ7U6kz0g3".into(),
        name: "Shop".into(),
        origin: OriginPattern::parse("https://shop.example.com").unwrap(),
        scopes: vec![ScopeType::Cors.into(), ScopeType::IframeEmbed.into()],
        status: Status::Inactive,
        created: OffsetDateTime::from_unix_timestamp(1_700_000_000)
            .unwrap()
            .into(),
        created_by: Some("00u1".into()),
        last_updated: OffsetDateTime::from_unix_timestamp(1_700_000_060)
            .unwrap()
            .into(),
        last_updated_by: None,
    };
    let json = serde_json::to_value(&origin).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "id": "tosue7JvguwJ7U6kz0g3",
            "name": "Shop",
            "origin": "https://shop.example.com",
            "scopes": [{"type": "CORS"}, {"type": "IFRAME_EMBED"}],
            "status": "INACTIVE",
            "created": "2023-11-14T22:13:20Z",
            "createdBy": "00u1",
            "lastUpdated": "2023-11-14T22:14:20Z",
        })
    );
    let back: TrustedOrigin = serde_json::from_value(json).unwrap();
    assert_eq!(back, origin);
}

#[test]
fn new_origin_defaults_to_active() {
    let new: NewTrustedOrigin = serde_json::from_str(
        r#"{"name":"A","origin":"https://a.example","scopes":[{"type":"REDIRECT"}]}"#,
    )
    .unwrap();
    assert_eq!(new.status, None);
    assert_eq!(new.scopes, vec![Scope::from(ScopeType::Redirect)]);
}

#[test]
fn scopes_keep_their_order_and_okta_apps_only_on_iframe_embed() {
    let given = [
        Scope::from(ScopeType::Redirect),
        Scope::iframe_embed([]),
        Scope::from(ScopeType::Cors),
        Scope::iframe_embed([OktaApp::OktaEnduser]),
        Scope::from(ScopeType::Redirect),
    ];
    let scopes = check_scopes(&given).unwrap();
    assert_eq!(
        scopes,
        [
            Scope::from(ScopeType::Redirect),
            Scope::iframe_embed([OktaApp::OktaEnduser]),
            Scope::from(ScopeType::Cors),
        ]
    );
    let mut cors = Scope::from(ScopeType::Cors);
    cors.allowed_okta_apps.insert(OktaApp::OktaEnduser);
    let error = check_scopes(&[cors]).unwrap_err();
    assert_eq!(
        error,
        RegistryError::OktaAppsOutsideIframeEmbed(ScopeType::Cors)
    );
    assert_eq!(error.field(), "allowedOktaApps");
    let json = serde_json::to_value(Scope::iframe_embed([OktaApp::OktaEnduser])).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"type": "IFRAME_EMBED", "allowedOktaApps": ["OKTA_ENDUSER"]})
    );
    let back: Scope = serde_json::from_value(json).unwrap();
    assert_eq!(
        back.allowed_okta_apps.iter().collect::<Vec<_>>(),
        [OktaApp::OktaEnduser]
    );
}
