//! QR codes of share links, as SVG markup for the page (the `qrcode` crate without its image features). A wasm
//! module of its own (`www/pkg/peer_wasm_qr.js`), which app.js imports the first time a QR code is shown: the
//! encoder is about a tenth of the page's main module, and most visits never show a code.

use qrcode::{Color, QrCode};
use wasm_bindgen::prelude::*;

/// Modules of quiet zone around the code, as the QR specification asks for reliable scanning.
const QUIET_ZONE: usize = 4;

/// `svg` for the page: an `Error` whose message says why when the text does not fit in a QR code.
#[wasm_bindgen(js_name = qrSvg)]
pub fn qr_svg(text: &str) -> Result<String, JsError> {
    svg(text).map_err(|m| JsError::new(&m))
}

/// An SVG image of `text` as a QR code: one path, one unit per module, scaled by CSS.
pub fn svg(text: &str) -> Result<String, String> {
    let code = QrCode::new(text.as_bytes()).map_err(|e| format!("cannot make a QR code of this link: {e}"))?;
    let width = code.width();
    let size = width + 2 * QUIET_ZONE;
    let mut path = String::with_capacity(width * width * 2);
    for (i, color) in code.to_colors().into_iter().enumerate() {
        if color == Color::Dark {
            let (x, y) = (i % width + QUIET_ZONE, i / width + QUIET_ZONE);
            // One 1x1 square per dark module: "M x y h1 v1 h-1 z".
            path.push_str(&format!("M{x} {y}h1v1h-1z"));
        }
    }
    Ok(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" shape-rendering=\"crispEdges\" \
         role=\"img\" aria-label=\"QR code of the share link\"><rect width=\"{size}\" height=\"{size}\" \
         fill=\"#fff\"/><path d=\"{path}\" fill=\"#000\"/></svg>"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_becomes_an_svg_with_dark_modules() {
        let s = svg("http://127.0.0.1:8080/#00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff").unwrap();
        assert!(s.starts_with("<svg") && s.ends_with("</svg>"));
        assert!(s.matches('M').count() > 100, "a 100-character link needs hundreds of dark modules");
    }

    #[test]
    fn text_too_long_for_a_qr_code_is_an_error() {
        assert!(svg(&"x".repeat(5000)).is_err());
    }
}
