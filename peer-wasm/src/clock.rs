//! The shell's clock and randomness: the only places the browser's time and entropy enter the swarm.

use swarm::time::Instant;
use wasm_bindgen::JsCast;

/// Milliseconds since the page started (`performance.now()`), the epoch of every [`Instant`] of this shell.
pub fn now() -> Instant {
    let ms = js_sys::global()
        .dyn_into::<web_sys::Window>()
        .ok()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or_else(js_sys::Date::now);
    Instant::from_millis(ms.max(0.0) as u64)
}

/// A random seed for a swarm's RNG, from `crypto.getRandomValues` (falls back to `Math.random`).
pub fn random_u64() -> u64 {
    let mut bytes = [0u8; 8];
    let filled = web_sys::window()
        .and_then(|w| w.crypto().ok())
        .is_some_and(|c| c.get_random_values_with_u8_array(&mut bytes).is_ok());
    if filled { u64::from_le_bytes(bytes) } else { (js_sys::Math::random() * (u64::MAX as f64)) as u64 }
}

/// A random number in `[0, 1)` for jitter.
pub fn random_unit() -> f64 {
    js_sys::Math::random()
}
