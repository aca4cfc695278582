//! Strips symbol names from optimized wasm builds: the name section is a quarter of the module (about 145 KB of
//! 560 KB raw) and only serves stack traces, which a shipped build does not need. wasm-bindgen reads exports and
//! its own custom section, not names. Unoptimized (dev) builds keep them for debugging, and so does any build with
//! `PEER_WASM_KEEP_NAMES=1` set: a size analysis (`twiggy top`) needs the names of an optimized build.

fn main() {
    let wasm = std::env::var("CARGO_CFG_TARGET_ARCH").is_ok_and(|a| a == "wasm32");
    let optimized = std::env::var("OPT_LEVEL").is_ok_and(|o| o != "0");
    let keep_names = std::env::var("PEER_WASM_KEEP_NAMES").is_ok_and(|v| v == "1");
    if wasm && optimized && !keep_names {
        println!("cargo:rustc-link-arg-cdylib=--strip-all");
    }
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=PEER_WASM_KEEP_NAMES");
}
