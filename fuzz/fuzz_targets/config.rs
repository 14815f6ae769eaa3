//! The configuration and seed loaders over arbitrary TOML and JSON: `CorsSettings`,
//! `CorsConfig` (through serde), and a file of `[[trusted_origins]]` seeds checked with
//! `SeedOrigin::validate_all`.
//!
//! Input: 1 flag byte (bit 0: TOML or JSON; bits 1-2: settings, config, seeds, or all three),
//! then the document.
//!
//! Invariants: errors, never panics; settings that load convert to a config exactly when serde
//! loads the config from the same text; settings survive a JSON round trip; a config error names
//! the value it refuses; seeds that validate are accepted by the registry, in the same number,
//! and a seed error names `trusted_origins[i].field` for a seed that exists.

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde::Deserialize;
use trusted_cors_core::{CorsConfig, CorsSettings, OriginSchemes, Registry, SeedOrigin};
use trusted_cors_fuzz::Input;

#[derive(Debug, Deserialize)]
struct SeedFile {
    #[serde(default)]
    trusted_origins: Vec<SeedOrigin>,
}

fuzz_target!(|data: &[u8]| {
    let input = Input::new(data, 1);
    let toml = input.bit(0);
    let which = input.bits2(1);
    let Ok(text) = std::str::from_utf8(input.rest()) else {
        return;
    };
    fn load<T: for<'de> Deserialize<'de>>(toml: bool, text: &str) -> Option<T> {
        if toml {
            toml::from_str(text).ok()
        } else {
            serde_json::from_str(text).ok()
        }
    }

    if which == 0 || which == 3 {
        if let Some(settings) = load::<CorsSettings>(toml, text) {
            check_settings(&settings);
            // serde's `CorsConfig` is the settings converted.
            let direct = load::<CorsConfig>(toml, text);
            assert_eq!(
                direct.is_some(),
                CorsConfig::try_from(settings).is_ok(),
                "{text:?}"
            );
        }
    }
    if which == 1 || which == 3 {
        if let Some(config) = load::<CorsConfig>(toml, text) {
            // Whatever loads is usable.
            let _ = format!("{config:?}");
            assert!(!config.allows_credential_scheme("SSWS"));
            assert!(!config.allows_credential_scheme("basic"));
        }
    }
    if which == 2 || which == 3 {
        if let Some(file) = load::<SeedFile>(toml, text) {
            check_seeds(&file.trusted_origins);
        }
    }
});

fn check_settings(settings: &CorsSettings) {
    let json = serde_json::to_string(settings).expect("settings serialize");
    let back: CorsSettings = serde_json::from_str(&json).expect("settings load back");
    assert_eq!(&back, settings);
    match CorsConfig::try_from(settings.clone()) {
        Ok(config) => {
            for scheme in &settings.credential_schemes {
                assert!(config.allows_credential_scheme(scheme.trim()), "{scheme:?}");
            }
            for never in ["SSWS", "Basic", "Digest", "Negotiate", "NTLM"] {
                assert!(!config.allows_credential_scheme(never));
            }
            for origin in &settings.public_origins {
                let origin = trusted_cors_core::Origin::parse(origin).expect("it was accepted");
                assert!(config.is_public_origin(origin.as_str()));
            }
        }
        Err(error) => {
            let message = error.to_string();
            assert!(!message.is_empty());
        }
    }
}

fn check_seeds(seeds: &[SeedOrigin]) {
    match SeedOrigin::validate_all(seeds, &OriginSchemes::default()) {
        Ok(valid) => {
            assert_eq!(valid.len(), seeds.len());
            let registry = Registry::with_origins(valid)
                .unwrap_or_else(|e| panic!("seeds that validate are refused: {e}: {seeds:?}"));
            assert_eq!(registry.snapshot().len(), seeds.len());
        }
        Err(error) => {
            let message = error.to_string();
            let index = message
                .split_once("trusted_origins[")
                .and_then(|(_, rest)| rest.split_once(']'))
                .and_then(|(index, _)| index.parse::<usize>().ok())
                .unwrap_or_else(|| panic!("the error names no seed: {message}"));
            assert!(index < seeds.len(), "{message}");
            if message.contains("not an allowed origin scheme") {
                // The registry holds no scheme list until a `Cors` gives it the config's.
                return;
            }
            // The registry refuses the same seeds.
            let news = seeds.iter().map(|seed| {
                trusted_cors_core::NewTrustedOrigin::new(
                    seed.name.clone(),
                    seed.origin.clone(),
                    seed.scopes.iter().copied(),
                )
                .with_status(seed.status)
            });
            assert!(
                Registry::with_origins(news).is_err(),
                "validate_all refused what the registry accepts: {message}"
            );
        }
    }
}
