//! The Trusted Origins API (`trusted-cors-admin`) mounted on an axum router (feature `admin`).

use axum_core::response::Response;
use trusted_cors_admin::{
    ApiRequest, TrustedOriginsApi, MAX_BODY_LEN as MAX_API_BODY, TRUSTED_ORIGINS_PATH,
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
    let body = match axum::body::to_bytes(body, MAX_API_BODY).await {
        Ok(body) => body,
        Err(_) => {
            return trusted_cors_core::OktaError::new("E0000001", "Api validation failed: body")
                .cause(format!("The body is larger than {MAX_API_BODY} bytes"))
                .into_response(413)
                .map(axum_core::body::Body::from)
        }
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
