//! Strips symbol names from optimized wasm builds: the name section is a quarter of the module (about 145 KB of
//! 560 KB raw) and only serves stack traces, which a shipped build does not need. wasm-bindgen reads exports and
//! its own custom section, not names. Unoptimized (dev) builds keep them for debugging.

fn main() {
    let wasm = std::env::var("CARGO_CFG_TARGET_ARCH").is_ok_and(|a| a == "wasm32");
    let optimized = std::env::var("OPT_LEVEL").is_ok_and(|o| o != "0");
    if wasm && optimized {
        println!("cargo:rustc-link-arg-cdylib=--strip-all");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
