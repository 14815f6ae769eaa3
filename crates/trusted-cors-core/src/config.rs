//! Global settings of the CORS layer, built in code or read from TOML/JSON with serde.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::policy::is_token;
use crate::rejection::ReportSet;
use crate::respond::{OktaErrorResponder, RejectionResponder};
use crate::{ConfigError, Origin, OriginSchemes, RejectionKind, RuleMode};

/// Authorization schemes that carry long-lived or browser-managed credentials and so are never
/// accepted from another origin, whatever the configuration says.
const NEVER_CROSS_ORIGIN: [&str; 5] = ["ssws", "basic", "digest", "negotiate", "ntlm"];

/// Settings that apply to every route.
///
/// ```
/// use trusted_cors_core::CorsConfig;
///
/// let config = CorsConfig::builder()
///     .public_origin("https://org.example.com")
///     .allow_cross_site_form_posts("/sso/saml2/{app}")
///     .diagnostics_header(true)
///     .build()?;
/// assert!(config.allows_credential_scheme("bearer"));
/// assert!(!config.allows_credential_scheme("SSWS"));
///
/// // The same from a file:
/// let from_toml: CorsConfig = serde_json::from_str(
///     r#"{"public_origins": ["https://org.example.com"], "diagnostics_header": true}"#,
/// )?;
/// assert!(from_toml.diagnostics());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Deserialize)]
#[serde(try_from = "CorsSettings")]
pub struct CorsConfig {
    credential_schemes: Vec<Box<str>>,
    public_origins: Vec<Origin>,
    form_post_paths: FormPostPaths,
    origin_schemes: OriginSchemes,
    report: ReportSet,
    report_header: bool,
    diagnostics: bool,
    metrics: bool,
    responder: Arc<dyn RejectionResponder>,
}

/// The serializable form of [`CorsConfig`]: every field optional, unknown keys refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CorsSettings {
    /// Authorization schemes accepted on cross-origin requests. Default `["Bearer", "DPoP"]`.
    pub credential_schemes: Vec<String>,
    /// This service's own public origins; requests from them are same-origin.
    pub public_origins: Vec<String>,
    /// Paths that accept cross-site form posts (OIDC `form_post`, SAML POST binding).
    pub cross_site_form_post_paths: Vec<String>,
    /// The schemes besides http and https whose exact origins may be trusted (hybrid apps,
    /// browser extensions). Default `["capacitor", "ionic"]`; see [`OriginSchemes`].
    pub origin_schemes: Vec<String>,
    /// The mode of each refusing rule, by its reason code: `enforce` (the default) or
    /// `report` (see [`RuleMode`]), e.g. `{ origin_not_trusted = "report" }`.
    pub rules: std::collections::BTreeMap<String, RuleMode>,
    /// Whether responses to requests a rule in report mode would have refused carry
    /// `X-Trusted-Cors-Report` with the rules' reason codes.
    pub report_header: bool,
    /// Whether rejections carry the `X-Trusted-Cors-Reason` header.
    pub diagnostics_header: bool,
    /// Whether decisions and registry changes are reported through the `metrics` facade (see
    /// [`crate::metrics`]); needs the `metrics` feature.
    pub metrics: bool,
}

impl Default for CorsSettings {
    fn default() -> Self {
        CorsSettings {
            credential_schemes: vec!["Bearer".into(), "DPoP".into()],
            public_origins: Vec::new(),
            cross_site_form_post_paths: Vec::new(),
            origin_schemes: OriginSchemes::default()
                .app_schemes()
                .map(str::to_owned)
                .collect(),
            rules: std::collections::BTreeMap::new(),
            report_header: false,
            diagnostics_header: false,
            metrics: false,
        }
    }
}

impl TryFrom<CorsSettings> for CorsConfig {
    type Error = ConfigError;
    fn try_from(settings: CorsSettings) -> Result<Self, ConfigError> {
        let mut builder = CorsConfig::builder().credential_schemes(&settings.credential_schemes);
        for origin in &settings.public_origins {
            builder = builder.public_origin(origin);
        }
        for path in &settings.cross_site_form_post_paths {
            builder = builder.allow_cross_site_form_posts(path);
        }
        for (rule, mode) in &settings.rules {
            builder = match RejectionKind::from_code(rule) {
                Some(kind) => builder.rule(kind, *mode),
                None => {
                    builder.fail(ConfigError::UnknownRule(rule.clone()));
                    builder
                }
            };
        }
        builder
            .origin_schemes(&settings.origin_schemes)
            .report_header(settings.report_header)
            .diagnostics_header(settings.diagnostics_header)
            .metrics(settings.metrics)
            .build()
    }
}

impl Default for CorsConfig {
    fn default() -> Self {
        CorsConfig {
            credential_schemes: vec!["bearer".into(), "dpop".into()],
            public_origins: Vec::new(),
            form_post_paths: FormPostPaths::default(),
            origin_schemes: OriginSchemes::default(),
            report: ReportSet::default(),
            report_header: false,
            diagnostics: false,
            metrics: false,
            responder: Arc::new(OktaErrorResponder),
        }
    }
}

impl CorsConfig {
    /// Starts from the defaults: `Bearer` and `DPoP` accepted cross-origin, no public origins,
    /// no form-post exemptions, no diagnostics header, Okta-style JSON rejections.
    pub fn builder() -> CorsConfigBuilder {
        CorsConfigBuilder {
            config: CorsConfig::default(),
            error: None,
        }
    }

    /// Whether `scheme` (any case) may be used in `Authorization` on a cross-origin request.
    pub fn allows_credential_scheme(&self, scheme: &str) -> bool {
        self.credential_schemes
            .iter()
            .any(|s| s.eq_ignore_ascii_case(scheme))
    }

    /// Whether `origin` (serialized) is one of this service's public origins.
    pub fn is_public_origin(&self, origin: &str) -> bool {
        self.public_origins.iter().any(|o| o.as_str() == origin)
    }

    /// Whether a cross-site form post to `path` is exempt from the untrusted-write rule.
    pub fn is_form_post_path(&self, path: &str) -> bool {
        self.form_post_paths.matches(path)
    }

    /// The schemes whose origins may be trusted: `http`, `https` and these app schemes. The
    /// decision trusts no origin of another scheme, whatever the registry holds, and
    /// [`Cors::new`](crate::Cors::new) hands the list to the registry, which refuses new entries
    /// of other schemes.
    pub fn origin_schemes(&self) -> &OriginSchemes {
        &self.origin_schemes
    }

    /// The mode of a refusing rule for every route (a route may set the modes of the rules it
    /// judges, see [`RouteCorsBuilder::rule`](crate::RouteCorsBuilder::rule)).
    pub fn rule_mode(&self, rule: RejectionKind) -> RuleMode {
        if self.report.contains(rule) {
            RuleMode::Report
        } else {
            RuleMode::Enforce
        }
    }

    pub(crate) fn report_set(&self) -> ReportSet {
        self.report
    }

    /// Whether responses carry `X-Trusted-Cors-Report` when a rule in report mode would have
    /// refused the request.
    pub fn report_header(&self) -> bool {
        self.report_header
    }

    /// Whether rejections carry `X-Trusted-Cors-Reason`.
    pub fn diagnostics(&self) -> bool {
        self.diagnostics
    }

    /// Whether decisions and registry changes are reported through the `metrics` facade (see
    /// [`crate::metrics`]). Off by default.
    pub fn metrics(&self) -> bool {
        self.metrics
    }

    /// The rejection responder.
    pub fn responder(&self) -> &dyn RejectionResponder {
        &*self.responder
    }
}

impl fmt::Debug for CorsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CorsConfig")
            .field("credential_schemes", &self.credential_schemes)
            .field("public_origins", &self.public_origins)
            .field("form_post_paths", &self.form_post_paths)
            .field("origin_schemes", &self.origin_schemes)
            .field("report", &self.report)
            .field("report_header", &self.report_header)
            .field("diagnostics", &self.diagnostics)
            .field("metrics", &self.metrics)
            .finish_non_exhaustive()
    }
}

/// Builds a [`CorsConfig`]; the first invalid value is reported by [`build`](Self::build).
#[derive(Debug)]
#[must_use]
pub struct CorsConfigBuilder {
    config: CorsConfig,
    error: Option<ConfigError>,
}

impl CorsConfigBuilder {
    /// The authorization schemes accepted cross-origin, replacing `Bearer, DPoP`. `SSWS`,
    /// `Basic`, `Digest`, `Negotiate` and `NTLM` are refused.
    pub fn credential_schemes<I, S>(mut self, schemes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.config.credential_schemes.clear();
        for scheme in schemes {
            let scheme = scheme.as_ref().trim();
            let lower = scheme.to_ascii_lowercase();
            if !is_token(scheme) {
                self.fail(ConfigError::InvalidCredentialScheme(scheme.to_owned()));
            } else if NEVER_CROSS_ORIGIN.contains(&lower.as_str()) {
                self.fail(ConfigError::ForbiddenCredentialScheme(scheme.to_owned()));
            } else {
                self.config.credential_schemes.push(lower.into_boxed_str());
            }
        }
        self
    }

    /// Adds a public origin of this service (e.g. behind a proxy that rewrites `Host`).
    pub fn public_origin(mut self, origin: impl AsRef<str>) -> Self {
        match Origin::parse(origin.as_ref()) {
            // A page of this service is served over http(s); `capacitor://localhost` is every
            // Capacitor app on a device, which must never pass for same-origin.
            Ok(parsed) if !parsed.is_web() => self.fail(ConfigError::InvalidOrigin {
                setting: "public_origins",
                value: origin.as_ref().to_owned(),
                reason: crate::OriginError::UnsupportedScheme(parsed.scheme().to_owned()),
            }),
            Ok(origin) => self.config.public_origins.push(origin),
            Err(reason) => self.fail(ConfigError::InvalidOrigin {
                setting: "public_origins",
                value: origin.as_ref().to_owned(),
                reason,
            }),
        }
        self
    }

    /// Exempts a path from the untrusted cross-origin write rule, for callbacks that must accept
    /// cross-site form posts (OIDC `form_post`, SAML POST binding). Patterns are axum's path
    /// syntax, matched with `matchit`: `/a/b`, with `{name}` for one segment and a final `*` or
    /// `{*name}` for the rest (which may be empty). Two patterns that overlap the way a router
    /// refuses (`/sso/{app}` and `/sso/{id}`) are a [`ConfigError::InvalidPathPattern`].
    pub fn allow_cross_site_form_posts(mut self, path: impl AsRef<str>) -> Self {
        if let Err(error) = self.config.form_post_paths.add(path.as_ref()) {
            self.fail(error);
        }
        self
    }

    /// The app and extension schemes whose exact origins may be trusted, replacing the default
    /// `capacitor, ionic` (see [`OriginSchemes`]); an empty list trusts `http` and `https`
    /// origins only. `file`, `data`, `blob`, `javascript`, `about`, `ws` and the like are refused.
    pub fn origin_schemes<I, S>(mut self, schemes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let schemes: Vec<String> = schemes.into_iter().map(|s| s.as_ref().to_owned()).collect();
        match OriginSchemes::new(&schemes) {
            Ok(list) => self.config.origin_schemes = list,
            Err(reason) => self.fail(ConfigError::InvalidOrigin {
                setting: "origin_schemes",
                value: schemes.join(", "),
                reason,
            }),
        }
        self
    }

    /// Sets whether a refusing rule refuses (`Enforce`, the default) or only reports what it
    /// would refuse (`Report`), for every route; see [`RuleMode`]. Use report mode to roll out
    /// on a live service: watch the reports, fix the configuration, then enforce.
    ///
    /// ```
    /// use trusted_cors_core::{CorsConfig, RejectionKind, RuleMode};
    ///
    /// let config = CorsConfig::builder()
    ///     .rule(RejectionKind::OriginNotTrusted, RuleMode::Report)
    ///     .report_header(true)
    ///     .build()?;
    /// assert_eq!(config.rule_mode(RejectionKind::OriginNotTrusted), RuleMode::Report);
    /// assert_eq!(config.rule_mode(RejectionKind::ApiTokenCrossOrigin), RuleMode::Enforce);
    /// # Ok::<(), trusted_cors_core::ConfigError>(())
    /// ```
    pub fn rule(mut self, rule: RejectionKind, mode: RuleMode) -> Self {
        self.config.report.set(rule, mode);
        self
    }

    /// Whether responses to requests that a rule in report mode would have refused carry
    /// `X-Trusted-Cors-Report: <reason>[, <reason>]`, for the browser's network panel. Off by
    /// default, like the diagnostics header.
    pub fn report_header(mut self, on: bool) -> Self {
        self.config.report_header = on;
        self
    }

    /// Whether rejections carry `X-Trusted-Cors-Reason: <reason>` for the browser's network panel.
    pub fn diagnostics_header(mut self, on: bool) -> Self {
        self.config.diagnostics = on;
        self
    }

    /// Whether to report decisions, the trusted origins and store writes through the `metrics`
    /// facade, to the recorder the application installs (see [`crate::metrics`] for the names
    /// and labels). Off by default; when off, the request path does not touch the recorder.
    /// Turning it on in a build without the `metrics` feature is refused by
    /// [`build`](Self::build) with [`ConfigError::MetricsNotCompiled`].
    ///
    /// ```
    /// use trusted_cors_core::CorsConfig;
    ///
    /// let config = CorsConfig::builder().metrics(cfg!(feature = "metrics")).build()?;
    /// assert_eq!(config.metrics(), cfg!(feature = "metrics"));
    /// # Ok::<(), trusted_cors_core::ConfigError>(())
    /// ```
    pub fn metrics(mut self, on: bool) -> Self {
        self.config.metrics = on;
        self
    }

    /// Replaces the Okta-style JSON rejection response.
    pub fn responder(mut self, responder: impl RejectionResponder) -> Self {
        self.config.responder = Arc::new(responder);
        self
    }

    fn fail(&mut self, error: ConfigError) {
        self.error.get_or_insert(error);
    }

    /// Checks the settings and builds the config.
    pub fn build(mut self) -> Result<CorsConfig, ConfigError> {
        if self.config.metrics && !cfg!(feature = "metrics") {
            self.fail(ConfigError::MetricsNotCompiled);
        }
        match self.error {
            Some(error) => Err(error),
            None => Ok(self.config),
        }
    }
}

/// A trusted origin as written in a configuration file:
///
/// ```toml
/// [[trusted_origins]]
/// name = "Portal"
/// origin = "https://portal.example.com"
/// scopes = ["CORS", "REDIRECT"]   # and/or "IFRAME_EMBED"
/// status = "ACTIVE"               # the default; "INACTIVE" keeps the entry but trusts nothing
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedOrigin {
    /// Unique name.
    pub name: String,
    /// Origin or `*.` wildcard pattern.
    pub origin: String,
    /// What the origin is trusted for.
    pub scopes: Vec<crate::ScopeType>,
    /// `ACTIVE` by default.
    #[serde(default)]
    pub status: crate::Status,
}

impl SeedOrigin {
    /// Checks every seed as the registry would, its scheme against `schemes` (the CORS config's
    /// [`origin_schemes`](CorsConfig::origin_schemes)), and returns them ready for
    /// [`Registry::with_origins`](crate::Registry::with_origins) or for seeding a store. An error
    /// names the key, e.g.
    /// `trusted_origins[1].origin`, and the value.
    ///
    /// ```
    /// use trusted_cors_core::SeedOrigin;
    ///
    /// #[derive(serde::Deserialize)]
    /// struct File { trusted_origins: Vec<SeedOrigin> }
    ///
    /// let file: File = serde_json::from_str(r#"{"trusted_origins": [
    ///     {"name": "Portal", "origin": "https://portal.example.com", "scopes": ["CORS"]},
    ///     {"name": "Broken", "origin": "portal.example.com", "scopes": ["CORS"]}
    /// ]}"#)?;
    /// let schemes = trusted_cors_core::OriginSchemes::default();
    /// let error = SeedOrigin::validate_all(&file.trusted_origins, &schemes).unwrap_err().to_string();
    /// assert!(error.contains("trusted_origins[1].origin"));
    /// assert!(error.contains("portal.example.com"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn validate_all(
        seeds: &[SeedOrigin],
        schemes: &OriginSchemes,
    ) -> Result<Vec<crate::NewTrustedOrigin>, ConfigError> {
        let mut names = std::collections::HashSet::with_capacity(seeds.len());
        let mut origins = std::collections::HashSet::with_capacity(seeds.len());
        let mut out = Vec::with_capacity(seeds.len());
        for (index, seed) in seeds.iter().enumerate() {
            let new = crate::NewTrustedOrigin::new(
                seed.name.clone(),
                seed.origin.clone(),
                seed.scopes.iter().copied(),
            )
            .with_status(seed.status);
            // Every rule but uniqueness, then uniqueness among the seeds, as the registry would.
            let checked = new.validate().and_then(|valid| {
                schemes.check(&valid.origin).map_err(|reason| {
                    crate::RegistryError::InvalidOrigin {
                        value: valid.origin.to_string(),
                        reason,
                    }
                })?;
                if !names.insert(valid.name.to_ascii_lowercase()) {
                    return Err(crate::RegistryError::DuplicateName(valid.name));
                }
                if !origins.insert(valid.origin.to_string()) {
                    return Err(crate::RegistryError::DuplicateOrigin(
                        valid.origin.to_string(),
                    ));
                }
                Ok(())
            });
            if let Err(error) = checked {
                let field = error.field();
                let value = match field {
                    "name" => seed.name.clone(),
                    "scopes" => format!("{:?}", seed.scopes),
                    _ => seed.origin.clone(),
                };
                return Err(ConfigError::TrustedOrigin {
                    key: format!("trusted_origins[{index}].{field}"),
                    value,
                    reason: error.to_string(),
                });
            }
            out.push(new);
        }
        Ok(out)
    }
}

/// The paths that accept cross-site form posts, matched with `matchit` (axum's own router).
#[derive(Clone, Default)]
struct FormPostPaths {
    patterns: Vec<Box<str>>,
    router: matchit::Router<()>,
}

impl FormPostPaths {
    /// Adds a pattern: literal segments, `{name}` for one segment, and a final `*` or `{*name}`
    /// for any rest (also an empty one).
    fn add(&mut self, value: &str) -> Result<(), ConfigError> {
        let invalid = |reason| ConfigError::InvalidPathPattern {
            value: value.to_owned(),
            reason,
        };
        let Some(rest) = value.strip_prefix('/') else {
            return Err(invalid("it must start with `/`"));
        };
        if self.patterns.iter().any(|p| &**p == value) {
            return Ok(());
        }
        let parts: Vec<&str> = rest.split('/').collect();
        let mut route = String::with_capacity(value.len() + 8);
        let mut catch_all = false;
        for (i, part) in parts.iter().enumerate() {
            let last = i + 1 == parts.len();
            route.push('/');
            if *part == "*" || (part.starts_with("{*") && part.ends_with('}')) {
                if !last {
                    return Err(invalid("`*` may only be the last segment"));
                }
                catch_all = true;
            } else if part.starts_with('{') && part.ends_with('}') && part.len() > 2 {
                let name = &part[1..part.len() - 1];
                if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                    return Err(invalid(
                        "a `{name}` segment names a parameter in letters, digits or `_`",
                    ));
                }
                route.push_str(part);
            } else if part.contains(['{', '}', '*', '?', '#']) {
                return Err(invalid("a segment is literal, `{name}`, or a final `*`"));
            } else {
                route.push_str(part);
            }
        }
        let conflict = |_| invalid("it overlaps another cross-site form-post path");
        if catch_all {
            // The rest may be empty: `/oauth2/*` also matches `/oauth2/`.
            self.router.insert(route.clone(), ()).map_err(conflict)?;
            route.push_str("{*rest}");
        }
        self.router.insert(route, ()).map_err(conflict)?;
        self.patterns.push(value.into());
        Ok(())
    }

    fn matches(&self, path: &str) -> bool {
        !self.patterns.is_empty() && self.router.at(path).is_ok()
    }
}

impl fmt::Debug for FormPostPaths {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.patterns).finish()
    }
}

#[cfg(test)]
mod tests;
