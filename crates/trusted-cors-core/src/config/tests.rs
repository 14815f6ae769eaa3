use super::*;

#[test]
fn forbidden_schemes_are_refused() {
    for scheme in ["SSWS", "basic", "Digest", "NTLM", "Negotiate"] {
        assert_eq!(
            CorsConfig::builder()
                .credential_schemes([scheme])
                .build()
                .unwrap_err(),
            ConfigError::ForbiddenCredentialScheme(scheme.into())
        );
    }
    assert!(matches!(
        CorsConfig::builder()
            .credential_schemes(["Bear er"])
            .build(),
        Err(ConfigError::InvalidCredentialScheme(_))
    ));
    let config = CorsConfig::builder()
        .credential_schemes(["Bearer"])
        .build()
        .unwrap();
    assert!(config.allows_credential_scheme("BEARER"));
    assert!(!config.allows_credential_scheme("DPoP"));
}

#[test]
fn metrics_need_the_feature() {
    let built = CorsConfig::builder().metrics(true).build();
    let read = toml::from_str::<CorsConfig>("metrics = true");
    if cfg!(feature = "metrics") {
        assert!(built.unwrap().metrics());
        assert!(read.unwrap().metrics());
    } else {
        assert_eq!(built.unwrap_err(), ConfigError::MetricsNotCompiled);
        let error = read.unwrap_err().to_string();
        assert!(error.contains("`metrics` feature"), "{error}");
    }
    assert!(!CorsConfig::default().metrics());
    assert!(!toml::from_str::<CorsConfig>("").unwrap().metrics());
}

#[test]
fn path_patterns() {
    let parse = |pattern: &str| {
        let mut paths = FormPostPaths::default();
        paths.add(pattern).map(|()| paths)
    };
    let pattern = parse("/sso/saml2/{app}").unwrap();
    assert!(pattern.matches("/sso/saml2/0oa1"));
    assert!(!pattern.matches("/sso/saml2/"));
    assert!(!pattern.matches("/sso/saml2"));
    assert!(!pattern.matches("/sso/saml2/0oa1/x"));
    let rest = parse("/oauth2/*").unwrap();
    assert!(rest.matches("/oauth2/v1/callback"));
    assert!(rest.matches("/oauth2/"));
    assert!(!rest.matches("/oauth3/x"));
    assert!(parse("/a/*/b").is_err());
    assert!(parse("a/b").is_err());
    assert!(parse("/a?b").is_err());
    let named = parse("/login/{*rest}").unwrap();
    assert!(named.matches("/login/a/b") && named.matches("/login/"));
    let mut overlapping = parse("/a/{x}").unwrap();
    assert!(overlapping.add("/a/{y}").is_err());
    assert!(
        overlapping.add("/a/{x}").is_ok(),
        "the same pattern twice is one pattern"
    );
    let exact = parse("/callback").unwrap();
    assert!(exact.matches("/callback"));
    assert!(!exact.matches("/callback/"));
    assert!(!exact.matches("callback"));
}

#[test]
fn settings_from_toml_name_the_bad_value() {
    let config: CorsConfig = toml::from_str(
        r#"
            credential_schemes = ["Bearer"]
            public_origins = ["https://Org.Example.com:443"]
            cross_site_form_post_paths = ["/sso/saml2/{app}"]
            diagnostics_header = true
            "#,
    )
    .unwrap();
    assert!(config.is_public_origin("https://org.example.com"));
    assert!(config.is_form_post_path("/sso/saml2/x"));
    assert!(config.diagnostics());

    let err = toml::from_str::<CorsConfig>(r#"public_origins = ["https://org.example.com/app"]"#)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("https://org.example.com/app") && err.contains("public_origins"),
        "{err}"
    );
    let err = toml::from_str::<CorsConfig>(r#"credential_schemes = ["SSWS"]"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("SSWS"), "{err}");
    let config: CorsConfig = toml::from_str(
        r#"
            origin_schemes = ["capacitor", "chrome-extension"]
            report_header = true
            [rules]
            origin_not_trusted = "report"
            header_not_allowed = "enforce"
            websocket_origin_not_trusted = "report"
            "#,
    )
    .unwrap();
    assert_eq!(
        config.rule_mode(RejectionKind::WebSocketOriginNotTrusted),
        RuleMode::Report
    );
    assert!(config.origin_schemes().allows("chrome-extension"));
    assert!(!config.origin_schemes().allows("ionic"));
    assert!(config.report_header());
    assert_eq!(
        config.rule_mode(RejectionKind::OriginNotTrusted),
        RuleMode::Report
    );
    assert_eq!(
        config.rule_mode(RejectionKind::HeaderNotAllowed),
        RuleMode::Enforce
    );
    let err = toml::from_str::<CorsConfig>("[rules]\norigin_untrusted = \"report\"")
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown rule `origin_untrusted`"), "{err}");
    let err = toml::from_str::<CorsConfig>("[rules]\norigin_not_trusted = \"warn\"")
        .unwrap_err()
        .to_string();
    assert!(err.contains("warn"), "{err}");
    let err = toml::from_str::<CorsConfig>(r#"public_origins = ["capacitor://localhost"]"#)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("public_origins") && err.contains("capacitor"),
        "{err}"
    );
    let err = toml::from_str::<CorsConfig>(r#"origin_schemes = ["file"]"#)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("origin_schemes") && err.contains("file"),
        "{err}"
    );
    let err = toml::from_str::<CorsConfig>("public_origin = []")
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown field `public_origin`"), "{err}");
}
