//! The decision's unit tests: the preflight readings, and the exact-origin lookup against parsing.

use super::*;
use crate::policy::{is_token, AllowedHeaders};
use crate::rejection::RequestHeadersProblem;
use crate::request::{MAX_REQUEST_HEADERS_LEN, MAX_REQUEST_HEADER_NAMES};

mod request_header_lists {
    use super::*;

    fn scan(value: &[u8]) -> Result<(String, bool, bool, Option<String>), RequestHeadersProblem> {
        let allowed = AllowedHeaders::List(vec!["content-type".into(), "x-b".into()]);
        let scan = scan_request_headers(HeaderInput::One(value), &allowed)?;
        let text =
            |bytes: &[u8]| String::from_utf8(bytes.to_vec()).expect("a passing list is ASCII");
        Ok((
            text(scan.value),
            scan.authorization,
            scan.star,
            scan.denied.map(text),
        ))
    }

    #[test]
    fn request_header_lists_are_split_trimmed_and_bounded() {
        let ok = |value: &str, denied: Option<&str>| {
            let (echo, _, _, found) = scan(value.as_bytes()).unwrap();
            assert_eq!(found.as_deref(), denied, "{value:?}");
            echo
        };
        assert_eq!(ok("content-type", None), "content-type");
        assert_eq!(ok(" \tcontent-type ,x-b\t ", None), "content-type ,x-b");
        assert_eq!(ok(",,content-type,,", None), ",,content-type,,");
        assert_eq!(ok("", None), "");
        assert_eq!(ok(" , ", None), ",");
        assert_eq!(ok("Content-Type,X-B", None), "Content-Type,X-B");
        assert_eq!(
            ok("content-type, x-a, x-c", Some("x-a")),
            "content-type, x-a, x-c"
        );
        let (_, authorization, star, denied) = scan(b"x-b, Authorization, *").unwrap();
        assert!(authorization && star);
        assert_eq!(denied.as_deref(), Some("Authorization"));

        let names = |n: usize| vec!["x-b"; n].join(",");
        assert!(scan(names(MAX_REQUEST_HEADER_NAMES).as_bytes()).is_ok());
        assert_eq!(
            scan(names(MAX_REQUEST_HEADER_NAMES + 1).as_bytes()),
            Err(RequestHeadersProblem::TooMany)
        );
        // Empty items count too.
        assert_eq!(
            scan(",".repeat(MAX_REQUEST_HEADER_NAMES).as_bytes()),
            Err(RequestHeadersProblem::TooMany)
        );
        assert_eq!(
            scan(b"content-type, x b"),
            Err(RequestHeadersProblem::NotAName("x b".into()))
        );
        assert_eq!(scan(b"x-\xff"), Err(RequestHeadersProblem::NotText));
        // Not UTF-8 is the list's first problem, whatever else is wrong with it.
        let too_many_then_not_text = format!("{},", names(MAX_REQUEST_HEADER_NAMES + 1));
        let mut bytes = too_many_then_not_text.into_bytes();
        bytes.push(0xff);
        assert_eq!(scan(&bytes), Err(RequestHeadersProblem::NotText));
        assert_eq!(scan(b"x b, \xff"), Err(RequestHeadersProblem::NotText));
        assert_eq!(
            scan(b"content-type, \xc3\xa9"),
            Err(RequestHeadersProblem::NotAName("\u{e9}".into()))
        );
    }
}

/// The byte-level readings of the preflight headers decide as reading them as text first did.
mod read_as_bytes {
    use super::*;
    use proptest::prelude::*;

    type Scanned = Result<(Vec<u8>, bool, bool, Option<Vec<u8>>), RequestHeadersProblem>;

    /// `Access-Control-Request-Headers` read text first, as before: a UTF-8 pass, then the split.
    fn scan_as_text(bytes: &[u8], allowed: &AllowedHeaders) -> Scanned {
        if bytes.len() > MAX_REQUEST_HEADERS_LEN {
            return Err(RequestHeadersProblem::TooLong);
        }
        let text = std::str::from_utf8(bytes).map_err(|_| RequestHeadersProblem::NotText)?;
        let ows: &[char] = &[' ', '\t'];
        let value = text.trim_matches(ows);
        let (mut authorization, mut star, mut denied) = (false, false, None);
        for (count, name) in value.split(',').enumerate() {
            if count == MAX_REQUEST_HEADER_NAMES {
                return Err(RequestHeadersProblem::TooMany);
            }
            let name = name.trim_matches(ows);
            if name.is_empty() {
                continue;
            }
            if !is_token(name) {
                return Err(RequestHeadersProblem::NotAName(
                    printable(name.as_bytes()).into_boxed_str(),
                ));
            }
            authorization |= name.eq_ignore_ascii_case("authorization");
            star |= name == "*";
            if denied.is_none() && !allowed.allows(name.as_bytes()) {
                denied = Some(name.as_bytes().to_vec());
            }
        }
        Ok((value.as_bytes().to_vec(), authorization, star, denied))
    }

    fn scan_as_bytes(bytes: &[u8], allowed: &AllowedHeaders) -> Scanned {
        let scan = scan_request_headers(HeaderInput::One(bytes), allowed)?;
        let denied = scan.denied.map(<[u8]>::to_vec);
        Ok((scan.value.to_vec(), scan.authorization, scan.star, denied))
    }

    /// A name long enough that a few of them pass the length limit.
    const LONG_NAME: &[u8] = &[b'x'; 300];

    /// Lists of names and separators, with runs of empty items (towards the limit on names) and
    /// long names (towards the limit on length); half of them spoiled at one place by a `*`,
    /// non-ASCII, bytes that are not UTF-8, a carriage return or a space inside a name.
    fn list() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            10 => prop::sample::select(vec![
                &b"content-type"[..],
                b"X-B",
                b"x-a",
                b"authorization",
                b",",
                b", ",
                b" ,",
                b"\t,\t",
            ]),
            1 => Just(&b",,,,,,,,,,,,,,,,"[..]),
            1 => Just(LONG_NAME),
        ];
        let spoiler = prop::sample::select(vec![&b"*"[..], b"\xc3\xa9", b"\xff", b"\r", b"x b"]);
        let spoiled = prop::option::weighted(0.5, (spoiler, any::<prop::sample::Index>()));
        // Mostly short lists; some of up to 20 long names, around the limit on length.
        let pieces = prop_oneof![
            4 => prop::collection::vec(piece, 0..50),
            1 => prop::collection::vec(prop_oneof![Just(LONG_NAME), Just(&b","[..])], 20..40),
        ];
        (pieces, spoiled).prop_map(|(mut pieces, spoiled)| {
            if let Some((spoiler, at)) = spoiled {
                pieces.insert(at.index(pieces.len() + 1), spoiler);
            }
            pieces.concat()
        })
    }

    fn allowed(kind: u8) -> AllowedHeaders {
        match kind {
            0 => AllowedHeaders::List(vec!["content-type".into(), "x-b".into()]),
            1 => AllowedHeaders::Any {
                authorization: false,
            },
            _ => AllowedHeaders::Any {
                authorization: true,
            },
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        #[test]
        fn request_headers_scan_as_bytes_as_they_did_as_text(bytes in list(), kind in 0..3u8) {
            let allowed = allowed(kind);
            prop_assert_eq!(scan_as_bytes(&bytes, &allowed), scan_as_text(&bytes, &allowed));
        }
    }

    #[test]
    fn request_headers_at_the_limits_scan_as_they_did_as_text() {
        let mut cases: Vec<Vec<u8>> = Vec::new();
        for len in [MAX_REQUEST_HEADERS_LEN, MAX_REQUEST_HEADERS_LEN + 1] {
            cases.push(vec![b'x'; len]);
            // Not UTF-8 past the limit, and at its last byte.
            let mut past = vec![b'x'; len];
            past.push(0xff);
            cases.push(past);
            let mut last = vec![b'x'; len];
            last[len - 1] = 0xff;
            cases.push(last);
        }
        for names in [MAX_REQUEST_HEADER_NAMES, MAX_REQUEST_HEADER_NAMES + 1] {
            cases.push(vec![&b"x-b"[..]; names].join(&b","[..]));
            cases.push([vec![&b"x-b"[..]; names].join(&b","[..]), b",\xff".to_vec()].concat());
        }
        for bytes in &cases {
            for kind in 0..3 {
                let allowed = allowed(kind);
                assert_eq!(
                    scan_as_bytes(bytes, &allowed),
                    scan_as_text(bytes, &allowed),
                    "{} bytes",
                    bytes.len()
                );
            }
        }
        let problem = |bytes: &[u8]| scan_as_bytes(bytes, &allowed(0)).err();
        assert_eq!(problem(&cases[0]), None);
        assert_eq!(problem(&cases[1]), Some(RequestHeadersProblem::TooLong));
        assert_eq!(problem(&cases[2]), Some(RequestHeadersProblem::NotText));
        assert_eq!(problem(&cases[3]), Some(RequestHeadersProblem::TooLong));
        assert_eq!(problem(&cases[4]), Some(RequestHeadersProblem::TooLong));
        assert_eq!(problem(&cases[8]), Some(RequestHeadersProblem::TooMany));
        assert_eq!(problem(&cases[9]), Some(RequestHeadersProblem::NotText));
    }

    #[test]
    fn requested_methods_read_as_bytes_as_they_did_as_text() {
        let methods: [&[u8]; 13] = [
            b"GET",
            b"POST",
            b"PUT",
            b"PATCH",
            b"DELETE",
            b"HEAD",
            b"OPTIONS",
            b"get",
            b"PU T",
            b"",
            b"\xff",
            b"PROPFIND",
            b"GE\xc3\xa9",
        ];
        for bytes in methods {
            let as_text = std::str::from_utf8(bytes).ok().filter(|m| is_token(m));
            assert_eq!(requested_method(bytes), as_text, "{bytes:?}");
        }
    }
}

mod lookup_first {
    use super::*;
    use crate::{NewTrustedOrigin, Registry, Status};
    use proptest::prelude::*;

    /// Origins a request may send: exact entries (active with the CORS scope, inactive, REDIRECT
    /// only), a wildcard's hosts, an app origin, and what matches none.
    const ORIGINS: [&[u8]; 14] = [
        b"https://app.example.com",
        b"https://old.example.com",
        b"https://redirect.example.com",
        b"https://a.wild.example",
        b"https://wild.example",
        b"capacitor://localhost",
        b"ionic://localhost",
        b"https://APP.example.com",
        b"https://app.example.com/",
        b"https://app.example.com:443",
        b"http://app.example.com",
        b"https://evil.example",
        b"null",
        b"https://api.example.com",
    ];

    fn registry() -> Registry {
        let registry = Registry::new();
        for (name, origin, scope) in [
            ("App", "https://app.example.com", ScopeType::Cors),
            ("Old", "https://old.example.com", ScopeType::Cors),
            (
                "Redirect",
                "https://redirect.example.com",
                ScopeType::Redirect,
            ),
            ("Wild", "https://*.wild.example", ScopeType::Cors),
            ("Capacitor", "capacitor://localhost", ScopeType::Cors),
        ] {
            let created = registry
                .create(NewTrustedOrigin::new(name, origin, [scope]))
                .unwrap();
            if name == "Old" {
                registry.deactivate(&created.id).unwrap();
                assert_eq!(
                    registry.snapshot().get(&created.id).unwrap().status,
                    Status::Inactive
                );
            }
        }
        registry
    }

    fn input(choice: Option<&'static [u8]>) -> HeaderInput<'static> {
        choice.map_or(HeaderInput::Absent, HeaderInput::One)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        /// Looking the `Origin` bytes up before parsing them decides exactly as parsing them
        /// first, whatever the registry holds for them.
        #[test]
        fn looking_up_first_decides_as_parsing_first(
            origin in prop::sample::select(ORIGINS.to_vec()),
            method in prop::sample::select(vec!["GET", "HEAD", "OPTIONS", "POST", "DELETE"]),
            request_method in prop::option::of(prop::sample::select(vec![&b"PUT"[..], b"GET", b"x y"])),
            site in prop::option::of(prop::sample::select(vec![&b"cross-site"[..], b"same-origin", b"none", b"same-site"])),
            host in prop::option::of(prop::sample::select(vec![&b"api.example.com"[..], b"app.example.com"])),
            authorization in prop::option::of(prop::sample::select(vec![&b"Bearer t"[..], b"SSWS t", b"Basic x"])),
            cookies in any::<bool>(),
            route in 0usize..7,
            capacitor in any::<bool>(),
            websocket in any::<bool>(),
        ) {
            let mut config = CorsConfig::builder().public_origin("https://api.example.com");
            if !capacitor {
                config = config.origin_schemes(["ionic"]);
            }
            let config = config.build().unwrap();
            let registry = registry();
            let snapshot = registry.snapshot();
            let policies = [
                RouteCors::default(),
                RouteCors::builder().any_origin().build().unwrap(),
                RouteCors::builder().bearer_from_any_origin().allow_headers(["authorization"]).build().unwrap(),
                RouteCors::server_side_only(),
                RouteCors::builder().websocket_from_any_origin().build().unwrap(),
            ];
            let scope = match route {
                5 => RouteScope::Unrouted,
                6 => RouteScope::Undeclared,
                i => RouteScope::Declared(&policies[i]),
            };
            let facts = RequestFacts {
                method,
                path: "/x",
                origin: HeaderInput::One(origin),
                access_control_request_method: input(request_method),
                access_control_request_headers: HeaderInput::Absent,
                authorization: input(authorization),
                has_cookies: cookies,
                sec_fetch_site: input(site),
                host: input(host),
                websocket,
            };
            let decide = |read| {
                let mut reports = Vec::new();
                let decision = decide_traced(&facts, &config, scope, &snapshot, &mut reports, None, read);
                format!("{decision:?} {reports:?}")
            };
            prop_assert_eq!(decide(OriginRead::LookUpFirst), decide(OriginRead::ParseFirst));
        }
    }
}
