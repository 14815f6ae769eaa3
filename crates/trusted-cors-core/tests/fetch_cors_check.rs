//! The tests' browser model (`support/fetch_cors_check.rs`) against cases worked out by hand
//! from the Fetch standard, so the differential property tests rest on a checked oracle.

#[path = "support/fetch_cors_check.rs"]
#[allow(unreachable_pub)]
mod fetch_cors_check;

use fetch_cors_check::*;

const ORIGIN: &[u8] = b"https://app.example";

fn response(status: u16, headers: &[(&str, &str)]) -> ResponseView {
    ResponseView {
        status,
        headers: headers
            .iter()
            .map(|(n, v)| ((*n).to_owned(), v.as_bytes().to_vec()))
            .collect(),
    }
}

fn request<'a>(
    method: &'a str,
    headers: &[&'a str],
    credentials: CredentialsMode,
) -> BrowserRequest<'a> {
    BrowserRequest {
        origin: ORIGIN,
        method: method.as_bytes(),
        unsafe_header_names: headers.iter().map(|h| h.as_bytes()).collect(),
        credentials,
    }
}

use CredentialsMode::{Include, Omit, SameOrigin};

#[test]
fn cors_check_follows_the_standard() {
    let get = |c| request("GET", &[], c);
    type Case<'a> = (
        &'a [(&'a str, &'a str)],
        CredentialsMode,
        Result<(), Failure>,
    );
    let cases: &[Case<'_>] = &[
        (&[], Omit, Err(Failure::NoAllowOrigin)),
        (&[("Access-Control-Allow-Origin", "*")], Omit, Ok(())),
        (&[("Access-Control-Allow-Origin", "*")], SameOrigin, Ok(())),
        (
            &[
                ("Access-Control-Allow-Origin", "*"),
                ("Access-Control-Allow-Credentials", "true"),
            ],
            Include,
            Err(Failure::AllowOriginMismatch(b"*".to_vec())),
        ),
        (
            &[("access-control-allow-origin", "https://app.example")],
            Omit,
            Ok(()),
        ),
        (
            &[("access-control-allow-origin", "https://App.example")],
            Omit,
            Err(Failure::AllowOriginMismatch(
                b"https://App.example".to_vec(),
            )),
        ),
        (
            &[("access-control-allow-origin", "https://app.example/")],
            Omit,
            Err(Failure::AllowOriginMismatch(
                b"https://app.example/".to_vec(),
            )),
        ),
        // Two headers are combined by `get`: the value is then no origin at all.
        (
            &[
                ("access-control-allow-origin", "https://app.example"),
                ("access-control-allow-origin", "https://app.example"),
            ],
            Omit,
            Err(Failure::AllowOriginMismatch(
                b"https://app.example, https://app.example".to_vec(),
            )),
        ),
        (
            &[("access-control-allow-origin", "https://app.example")],
            Include,
            Err(Failure::CredentialsNotTrue(None)),
        ),
        (
            &[
                ("access-control-allow-origin", "https://app.example"),
                ("access-control-allow-credentials", "True"),
            ],
            Include,
            Err(Failure::CredentialsNotTrue(Some(b"True".to_vec()))),
        ),
        (
            &[
                ("access-control-allow-origin", "https://app.example"),
                ("access-control-allow-credentials", "true"),
            ],
            Include,
            Ok(()),
        ),
    ];
    for (headers, credentials, expected) in cases {
        let got = cors_check(&get(*credentials), &response(200, headers));
        assert_eq!(&got, expected, "{headers:?} {credentials:?}");
    }
}

#[test]
fn preflight_check_follows_the_standard() {
    let ok = |extra: &[(&'static str, &'static str)]| {
        let mut headers = vec![
            ("access-control-allow-origin", "https://app.example"),
            ("access-control-allow-credentials", "true"),
        ];
        headers.extend_from_slice(extra);
        headers
    };
    let check = |req: &BrowserRequest<'_>, status, headers: &[(&str, &str)]| {
        preflight_check(req, &response(status, headers), false).map(|o| o.max_age)
    };
    let put = request("PUT", &["content-type"], Include);
    let methods = ("access-control-allow-methods", "GET, PUT");
    let headers = ("access-control-allow-headers", "Content-Type");
    assert_eq!(check(&put, 204, &ok(&[methods, headers])), Ok(None));
    assert_eq!(
        check(&put, 403, &ok(&[methods, headers])),
        Err(Failure::StatusNotOk(403))
    );
    assert_eq!(
        check(
            &put,
            204,
            &ok(&[("access-control-allow-methods", "GET"), headers])
        ),
        Err(Failure::MethodNotAllowed(b"PUT".to_vec()))
    );
    // Methods compare byte for byte; safelisted methods need no listing.
    let lower = request("put", &[], Include);
    assert_eq!(
        check(&lower, 204, &ok(&[methods])),
        Err(Failure::MethodNotAllowed(b"put".to_vec()))
    );
    assert_eq!(
        check(&request("POST", &[], Include), 204, &ok(&[])),
        Ok(None)
    );
    // `*` is a wildcard only without credentials.
    let star = [
        ("access-control-allow-origin", "https://app.example"),
        ("access-control-allow-methods", "*"),
        ("access-control-allow-headers", "*"),
    ];
    assert_eq!(check(&request("PUT", &["x-a"], Omit), 204, &star), Ok(None));
    let with_credentials = [
        star[0],
        star[1],
        star[2],
        ("access-control-allow-credentials", "true"),
    ];
    assert_eq!(
        check(&request("PUT", &[], Include), 204, &with_credentials),
        Err(Failure::MethodNotAllowed(b"PUT".to_vec()))
    );
    assert_eq!(
        check(&request("GET", &["x-a"], Include), 204, &with_credentials),
        Err(Failure::HeaderNotAllowed(b"x-a".to_vec()))
    );
    // `*` never covers Authorization.
    assert_eq!(
        check(&request("GET", &["authorization"], Omit), 204, &star),
        Err(Failure::NonWildcardHeaderNotListed(
            b"authorization".to_vec()
        ))
    );
    // Lists: optional whitespace, empty elements ignored, several headers joined; a non-token
    // element is a failure.
    let listed = ok(&[
        ("access-control-allow-headers", " ,x-a ,\tAuthorization,, "),
        ("access-control-allow-headers", "x-b"),
    ]);
    assert_eq!(
        check(
            &request("GET", &["authorization", "x-a", "x-b"], Include),
            204,
            &listed
        ),
        Ok(None)
    );
    assert_eq!(
        check(
            &request("GET", &[], Include),
            204,
            &ok(&[("access-control-allow-headers", "x a")])
        ),
        Err(Failure::HeadersUnparsable)
    );
    assert_eq!(
        check(
            &request("GET", &[], Include),
            204,
            &ok(&[("access-control-allow-methods", "GET;")])
        ),
        Err(Failure::MethodsUnparsable)
    );
    // Max-age: delta-seconds, one header; anything else falls back to 5 s without failing.
    let age = |v| {
        check(
            &put,
            204,
            &ok(&[methods, headers, ("access-control-max-age", v)]),
        )
    };
    assert_eq!(age("7200"), Ok(Some(7200)));
    assert_eq!(age("-1"), Ok(None));
    assert_eq!(age("1.5"), Ok(None));
    assert_eq!(
        check(
            &put,
            204,
            &ok(&[
                methods,
                headers,
                ("access-control-max-age", "1"),
                ("access-control-max-age", "1")
            ])
        ),
        Ok(None)
    );
    // Without Access-Control-Allow-Methods, the use-CORS-preflight flag lists the method.
    let flagged = preflight_check(&put, &response(204, &ok(&[headers])), true);
    assert_eq!(flagged.map(|o| o.methods), Ok(vec![b"PUT".to_vec()]));
}
