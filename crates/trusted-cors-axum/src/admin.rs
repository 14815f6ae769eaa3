//! The Trusted Origins API (`trusted-cors-admin`) mounted on an axum router (feature `admin`).

use axum_core::response::Response;
use trusted_cors_admin::{
    body_too_large, ApiRequest, TrustedOriginsApi, MAX_BODY_LEN, TRUSTED_ORIGINS_PATH,
};

/// The Trusted Origins management API (`/api/v1/trustedOrigins`, Okta-compatible) as an axum
/// router to merge into the application. It is never CORS-enabled: do not declare a route policy
/// on it, and keep the guard around it so API tokens from browsers are refused.
///
/// ```
/// use std::sync::Arc;
/// use axum::Router;
/// use trusted_cors_admin::{TrustedOrigins, TrustedOriginsApi};
/// use trusted_cors_core::{Cors, CorsConfig, Registry};
///
/// // In memory here; `TrustedOrigins::open` with a SQLite or PostgreSQL store keeps them.
/// let origins = Arc::new(TrustedOrigins::in_memory(Registry::new()));
/// let cors = Cors::new(CorsConfig::default(), Arc::clone(origins.registry()));
/// let api = TrustedOriginsApi::new(origins, ["00secret-token"]);
/// let app: Router = Router::new().merge(trusted_cors_axum::trusted_origins_router(api)).layer(cors.guard());
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "admin")))]
pub fn trusted_origins_router<S>(api: TrustedOriginsApi) -> axum::Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let handler = move |request: axum::extract::Request| {
        let api = api.clone();
        async move { handle_api(&api, request).await }
    };
    axum::Router::new()
        .route(TRUSTED_ORIGINS_PATH, axum::routing::any(handler.clone()))
        .route(
            &format!("{TRUSTED_ORIGINS_PATH}/{{*rest}}"),
            axum::routing::any(handler),
        )
}

async fn handle_api(api: &TrustedOriginsApi, request: axum::extract::Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY_LEN).await else {
        return body_too_large().map(axum_core::body::Body::from);
    };
    let response = api
        .handle(ApiRequest {
            method: parts.method.as_str(),
            path: parts.uri.path(),
            query: parts.uri.query(),
            authorization: parts
                .headers
                .get(http::header::AUTHORIZATION)
                .map(|v| v.as_bytes()),
            body: &body,
        })
        .await;
    response.map(axum_core::body::Body::from)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tower::ServiceExt;
    use trusted_cors_admin::{TrustedOrigins, TrustedOriginsApi, MAX_BODY_LEN};
    use trusted_cors_core::Registry;

    /// A body longer than the API reads is answered 413 with the Okta error naming the limit,
    /// before the API sees the request; one at the limit reaches it.
    #[tokio::test]
    async fn a_body_over_the_limit_is_refused_with_413() {
        let origins = Arc::new(TrustedOrigins::in_memory(Registry::new()));
        let api = TrustedOriginsApi::new(origins, ["00secret-token"]);
        let app: axum::Router = super::trusted_origins_router(api);
        let post = |len: usize| {
            http::Request::post("/api/v1/trustedOrigins")
                .header("authorization", "SSWS 00secret-token")
                .header("content-type", "application/json")
                .body(axum::body::Body::from(vec![b' '; len]))
                .unwrap()
        };
        let response = app.clone().oneshot(post(MAX_BODY_LEN + 1)).await.unwrap();
        assert_eq!(response.status(), 413);
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["errorCode"], "E0000001");
        assert_eq!(
            body["errorCauses"][0]["errorSummary"],
            format!("The body is larger than {MAX_BODY_LEN} bytes")
        );
        // At the limit the API reads it (and refuses the blank JSON as invalid).
        let response = app.oneshot(post(MAX_BODY_LEN)).await.unwrap();
        assert_eq!(response.status(), 400);
    }
}
