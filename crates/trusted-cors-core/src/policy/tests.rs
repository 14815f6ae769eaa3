use super::*;

#[test]
fn policies_that_cannot_mean_what_they_say_are_refused() {
    let built = |b: RouteCorsBuilder| b.build().map_err(|e| e.to_string());
    let error = built(RouteCors::builder().allow_methods(["GET", "*"])).unwrap_err();
    assert!(error.contains("`*` in allow_methods"), "{error}");
    for (given, meant) in [("get", "GET"), ("Put", "PUT"), ("patch", "PATCH")] {
        let error = built(RouteCors::builder().allow_methods([given])).unwrap_err();
        assert!(
            error.contains(&format!("`{given}`")) && error.contains(&format!("`{meant}`")),
            "{error}"
        );
    }
    // Methods of one's own stay as written.
    let custom = built(RouteCors::builder().allow_methods(["PROPFIND", "purge"])).unwrap();
    assert_eq!(custom.allow_methods_value(), "PROPFIND, purge");
    // A later list replaces `*`.
    let replaced = RouteCors::builder()
        .allow_headers(["*"])
        .allow_headers(["x-custom"])
        .build()
        .unwrap();
    assert!(!replaced.allows_any_header());
    assert_eq!(replaced.allow_headers_value().unwrap(), "x-custom");
    let any = RouteCors::builder().allow_headers(["*"]).build().unwrap();
    assert!(any.allows_any_header());
}

#[test]
fn routes_open_to_any_origin_allow_no_credentials() {
    let public = RouteCors::builder().any_origin().build().unwrap();
    assert!(public.accepts_any_origin() && !public.allows_credentials());
    assert_eq!(
        RouteCors::builder()
            .any_origin()
            .credentials(true)
            .build()
            .unwrap_err(),
        ConfigError::AnyOriginWithCredentials
    );
    assert!(!RouteCors::default().accepts_any_origin());
}

#[test]
fn defaults_are_narrow() {
    let route = RouteCors::builder().build().unwrap();
    assert!(route.is_cors_enabled());
    assert!(route.allows_credentials());
    assert!(!route.accepts_bearer_from_any_origin());
    assert_eq!(route.allow_methods_value(), "GET, HEAD");
    assert_eq!(route.allow_headers_value().unwrap(), "content-type");
    assert_eq!(route.max_age_value(), "7200");
    assert_eq!(route.expose_headers_value(), None);
    let default = RouteCors::default();
    assert_eq!(default.allow_methods_value(), route.allow_methods_value());
    assert!(default.is_cors_enabled() && default.allows_credentials());
    assert!(!route.allows_method("get"));
    assert!(!route.allows_header("authorization"));
}

#[test]
fn authorization_is_never_implied_by_star() {
    let route = RouteCors::builder().allow_headers(["*"]).build().unwrap();
    assert!(route.allows_header("x-anything"));
    assert!(!route.allows_header("Authorization"));
    let named = RouteCors::builder()
        .allow_headers(["*", "Authorization"])
        .build()
        .unwrap();
    assert!(named.allows_header("authorization"));
    let bearer = RouteCors::builder()
        .bearer_from_any_origin()
        .build()
        .unwrap();
    assert!(bearer.allows_header("authorization"));
    assert_eq!(
        bearer.allow_headers_value().unwrap(),
        "content-type, authorization"
    );
}

#[test]
fn invalid_policies_are_errors() {
    let cases = [
        (
            RouteCors::builder().allow_methods(["GET", "PU T"]).build(),
            ConfigError::InvalidMethod("PU T".into()),
        ),
        (
            RouteCors::builder()
                .allow_methods(Vec::<String>::new())
                .build(),
            ConfigError::NoMethods,
        ),
        (
            RouteCors::builder().allow_headers(["x\ny"]).build(),
            ConfigError::InvalidHeaderName {
                setting: "allow_headers",
                value: "x\ny".into(),
            },
        ),
        (
            RouteCors::builder().expose_headers(["*"]).build(),
            ConfigError::WildcardWithCredentials("expose_headers"),
        ),
        (
            RouteCors::builder().expose_headers(["Set-Cookie"]).build(),
            ConfigError::ForbiddenExposeHeader("set-cookie".into()),
        ),
        (
            RouteCors::builder()
                .max_age(Duration::from_secs(86_401))
                .build(),
            ConfigError::MaxAgeTooLong(86_401),
        ),
    ];
    for (result, expected) in cases {
        assert_eq!(result.unwrap_err(), expected);
    }
    assert!(RouteCors::builder()
        .credentials(false)
        .expose_headers(["*"])
        .build()
        .is_ok());
}

#[test]
fn the_websocket_rule_is_set_globally_only() {
    assert_eq!(
        RouteCors::builder()
            .rule(RejectionKind::WebSocketOriginNotTrusted, RuleMode::Report)
            .build()
            .unwrap_err(),
        ConfigError::RuleNotPerRoute("websocket_origin_not_trusted")
    );
    assert!(!RouteCors::server_side_only().accepts_websocket_from_any_origin());
}

#[test]
fn server_side_only_is_not_enabled() {
    assert!(!RouteCors::server_side_only().is_cors_enabled());
}
