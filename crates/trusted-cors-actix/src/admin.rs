//! The Trusted Origins API (`trusted-cors-admin`) mounted as an actix-web scope (feature `admin`).

use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use trusted_cors_admin::{ApiRequest, TrustedOriginsApi, MAX_BODY_LEN, TRUSTED_ORIGINS_PATH};

/// The Trusted Origins management API (`/api/v1/trustedOrigins`, Okta-compatible) as an actix
/// scope to register with `App::service`. It is never CORS-enabled: do not wrap it in a
/// [`RouteCorsMiddleware`](crate::RouteCorsMiddleware), and keep
/// [`GuardMiddleware`](crate::GuardMiddleware) on the app so API tokens from browsers are refused.
///
/// ```
/// use std::sync::Arc;
/// use actix_web::App;
/// use trusted_cors_admin::{TrustedOrigins, TrustedOriginsApi};
/// use trusted_cors_core::{Cors, CorsConfig, Registry};
///
/// // In memory here; `TrustedOrigins::open` with a SQLite or PostgreSQL store keeps them.
/// let origins = Arc::new(TrustedOrigins::in_memory(Registry::new()));
/// let cors = Cors::new(CorsConfig::default(), Arc::clone(origins.registry()));
/// let api = TrustedOriginsApi::new(origins, ["00secret-token"]);
/// let _app = App::new()
///     .wrap(trusted_cors_actix::GuardMiddleware::new(&cors))
///     .service(trusted_cors_actix::trusted_origins_scope(api));
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "admin")))]
pub fn trusted_origins_scope(api: TrustedOriginsApi) -> actix_web::Scope {
    actix_web::web::scope(TRUSTED_ORIGINS_PATH)
        .app_data(actix_web::web::Data::new(api))
        .app_data(actix_web::web::PayloadConfig::new(MAX_BODY_LEN))
        .default_service(actix_web::web::to(handle_api))
}

async fn handle_api(
    request: HttpRequest,
    body: actix_web::web::Bytes,
    api: actix_web::web::Data<TrustedOriginsApi>,
) -> HttpResponse {
    let response = api
        .handle(ApiRequest {
            method: request.method().as_str(),
            path: request.path(),
            query: Some(request.query_string()).filter(|q| !q.is_empty()),
            authorization: request
                .headers()
                .get(header::AUTHORIZATION)
                .map(HeaderValue::as_bytes),
            body: &body,
        })
        .await;
    let (parts, body) = response.into_parts();
    let status = StatusCode::from_u16(parts.status.as_u16()).unwrap_or(StatusCode::FORBIDDEN);
    let mut out = HttpResponse::with_body(status, body).map_into_boxed_body();
    for (name, value) in &parts.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_str().as_bytes()),
            HeaderValue::from_bytes(value.as_bytes()),
        ) {
            out.headers_mut().append(name, value);
        }
    }
    out
}
