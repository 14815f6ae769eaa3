//! The README and the guide in `docs/`: every page of the guide is compiled as doc-tests (listed
//! in `src/lib.rs`, as the README is), and every relative link and image in them names a file
//! of the repository.

use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The README and every page of `docs/`.
fn pages() -> Vec<PathBuf> {
    let mut pages: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "md"))
        .collect();
    pages.sort();
    pages.insert(0, root().join("README.md"));
    pages
}

#[test]
fn every_page_of_the_guide_is_doc_tested() {
    let lib = std::fs::read_to_string(root().join("src/lib.rs")).unwrap();
    for page in pages() {
        let name = page.strip_prefix(root()).unwrap().display().to_string();
        let included = format!("#[doc = include_str!(\"../{name}\")]");
        assert!(
            lib.contains(&included),
            "src/lib.rs does not include {name}"
        );
    }
}

#[test]
fn relative_links_name_files_that_exist() {
    let mut checked = 0;
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        // `](target)`: links and images; code blocks hold none.
        for (index, _) in text.match_indices("](") {
            let rest = &text[index + 2..];
            let Some(end) = rest.find(')') else { continue };
            let target = &rest[..end];
            if target.contains("://") || target.starts_with('#') || target.starts_with("mailto:") {
                continue;
            }
            let file = target.split('#').next().unwrap();
            let path = page.parent().unwrap().join(file);
            assert!(
                path.exists(),
                "{}: the link to {target} names no file",
                page.display()
            );
            checked += 1;
        }
    }
    assert!(checked > 20, "only {checked} links found");
}
