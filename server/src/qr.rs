//! QR codes: rendering a payload as PNG or SVG for customers' e-wallets to scan (error correction M,
//! a 4-module quiet zone, 8-pixel modules in PNG), and reading one back from a photo or screenshot of a
//! merchant's QRIS sticker (PNG or JPEG, decoded with size limits, scaled down before detection).

use std::io::Cursor;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use image::codecs::png::PngEncoder;
use image::imageops::FilterType;
use image::{GrayImage, ImageEncoder as _, ImageReader, Limits, Luma};
use qrcode::{Color, EcLevel, QrCode};

/// Light modules around the code, in modules (ISO/IEC 18004 asks for at least 4; scanners need it).
pub const QUIET_ZONE: usize = 4;
/// Pixels per module in rendered PNGs (a 199-character QRIS gives a 61-module code: 552 px in all).
pub const MODULE_PX: u32 = 8;
/// Largest side of an uploaded image, in pixels (a 48-megapixel photo is 8000 wide).
pub const MAX_SCAN_SIDE: u32 = 10_000;
/// Images are scaled down to at most these sides before detection (large photos are slow to scan and
/// detection works better on a moderate size).
const SCAN_SIDES: [u32; 3] = [1600, 800, 400];

/// Why a payload could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The payload does not fit in any QR version.
    #[error("cannot encode {chars} characters as a QR code: {reason}")]
    TooLong {
        /// Length of the payload.
        chars: usize,
        /// What the encoder said.
        reason: String,
    },
    /// PNG encoding failed.
    #[error("cannot encode the QR code as PNG: {0}")]
    Png(String),
}

/// Why no payload could be read from an image.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// Not a PNG or JPEG.
    #[error("the file is not a PNG or JPEG image")]
    UnsupportedFormat,
    /// The image is larger than [`MAX_SCAN_SIDE`] or than memory allows.
    #[error("the image is too large (at most {MAX_SCAN_SIDE} × {MAX_SCAN_SIDE} pixels)")]
    TooLarge,
    /// The image data is broken.
    #[error("the image cannot be decoded: {0}")]
    Broken(String),
    /// No QR code was found.
    #[error("no QR code found in the image; try a sharper, closer, evenly lit picture")]
    NotFound,
    /// A QR code was found but could not be read.
    #[error("a QR code was found but cannot be read ({0}); try a sharper picture")]
    Unreadable(String),
}

/// The modules of `payload`'s QR code: `true` is dark, row by row, `width` per row.
fn modules(payload: &str) -> Result<(usize, Vec<bool>), RenderError> {
    let code =
        QrCode::with_error_correction_level(payload.as_bytes(), EcLevel::M).map_err(|e| {
            RenderError::TooLong {
                chars: payload.chars().count(),
                reason: e.to_string(),
            }
        })?;
    let width = code.width();
    let dark = code
        .to_colors()
        .into_iter()
        .map(|c| c == Color::Dark)
        .collect();
    Ok((width, dark))
}

/// `payload` as a PNG image (black on white, 8-pixel modules, 4-module quiet zone).
pub fn png(payload: &str) -> Result<Vec<u8>, RenderError> {
    let (width, dark) = modules(payload)?;
    let side_modules = width + 2 * QUIET_ZONE;
    let side = u32::try_from(side_modules)
        .ok()
        .and_then(|m| m.checked_mul(MODULE_PX))
        .ok_or_else(|| RenderError::Png("image side overflows".to_owned()))?;
    let image = GrayImage::from_fn(side, side, |x, y| {
        let module = |p: u32| usize::try_from(p / MODULE_PX).unwrap_or(usize::MAX);
        let (mx, my) = (module(x), module(y));
        let inside = (QUIET_ZONE..QUIET_ZONE + width).contains(&mx)
            && (QUIET_ZONE..QUIET_ZONE + width).contains(&my);
        let is_dark = inside && dark[(my - QUIET_ZONE) * width + (mx - QUIET_ZONE)];
        Luma([if is_dark { 0 } else { 255 }])
    });
    let mut out = Vec::new();
    PngEncoder::new(&mut out)
        .write_image(image.as_raw(), side, side, image::ExtendedColorType::L8)
        .map_err(|e| RenderError::Png(e.to_string()))?;
    Ok(out)
}

/// `payload` as a data URL of its PNG (`data:image/png;base64,…`), for an `<img>` in a JSON answer.
pub fn png_data_url(payload: &str) -> Result<String, RenderError> {
    Ok(format!(
        "data:image/png;base64,{}",
        BASE64.encode(png(payload)?)
    ))
}

/// `payload` as an SVG image: one path of unit squares in a view box that includes the quiet zone, so
/// it scales to any size and stays sharp.
pub fn svg(payload: &str) -> Result<String, RenderError> {
    let (width, dark) = modules(payload)?;
    let side = width + 2 * QUIET_ZONE;
    let mut path = String::with_capacity(dark.len() * 4);
    for (i, _) in dark.iter().enumerate().filter(|(_, d)| **d) {
        let (x, y) = (i % width + QUIET_ZONE, i / width + QUIET_ZONE);
        path.push_str(&format!("M{x} {y}h1v1h-1z"));
    }
    Ok(format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {side} {side}" width="{px}" height="{px}" shape-rendering="crispEdges"><rect width="{side}" height="{side}" fill="#fff"/><path fill="#000" d="{path}"/></svg>"##,
        px = side * usize::try_from(MODULE_PX).unwrap_or(8),
    ))
}

/// Reads the text of the QR code in an image (a photo or screenshot of a QRIS sticker).
pub fn scan(bytes: &[u8]) -> Result<String, ScanError> {
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| ScanError::Broken(e.to_string()))?;
    if !matches!(
        reader.format(),
        Some(image::ImageFormat::Png | image::ImageFormat::Jpeg)
    ) {
        return Err(ScanError::UnsupportedFormat);
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SCAN_SIDE);
    limits.max_image_height = Some(MAX_SCAN_SIDE);
    limits.max_alloc = Some(512 * 1024 * 1024);
    reader.limits(limits);
    let image = reader.decode().map_err(|e| match e {
        image::ImageError::Limits(_) => ScanError::TooLarge,
        image::ImageError::Unsupported(_) => ScanError::UnsupportedFormat,
        other => ScanError::Broken(other.to_string()),
    })?;
    let gray = image.to_luma8();
    let mut unreadable = None;
    let mut tried_full = false;
    for side in SCAN_SIDES {
        let longest = gray.width().max(gray.height());
        let scaled;
        let candidate = if longest > side {
            let ratio = f64::from(side) / f64::from(longest);
            let scale = |v: u32| ((f64::from(v) * ratio).round() as u32).max(1);
            scaled = image::imageops::resize(
                &gray,
                scale(gray.width()),
                scale(gray.height()),
                FilterType::Triangle,
            );
            &scaled
        } else if tried_full {
            continue;
        } else {
            tried_full = true;
            &gray
        };
        match detect(candidate) {
            Ok(text) => return Ok(text),
            Err(ScanError::Unreadable(reason)) => unreadable = Some(reason),
            Err(_) => {}
        }
    }
    Err(unreadable.map_or(ScanError::NotFound, ScanError::Unreadable))
}

fn detect(gray: &GrayImage) -> Result<String, ScanError> {
    let (w, h) = (gray.width(), gray.height());
    let (wu, hu) = (
        usize::try_from(w).unwrap_or(0),
        usize::try_from(h).unwrap_or(0),
    );
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(wu, hu, |x, y| {
        // x < w and y < h by construction, so the conversions are lossless.
        gray.get_pixel(x as u32, y as u32)[0]
    });
    let grids = prepared.detect_grids();
    if grids.is_empty() {
        return Err(ScanError::NotFound);
    }
    let mut last = String::new();
    for grid in grids {
        match grid.decode() {
            Ok((_, text)) => return Ok(text),
            Err(e) => last = e.to_string(),
        }
    }
    Err(ScanError::Unreadable(last))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAYLOAD: &str = "00020101021126570011ID.DANA.WWW011893600915302259148102090225914810303UMI51440014ID.CO.QRIS.WWW0215ID10200176114730303UMI5204581253033605802ID5922Warung Sayur Bu Sugeng6010Kab. Demak610559567630458C7";

    #[test]
    fn a_rendered_png_scans_back_to_the_same_payload() {
        let png = png(PAYLOAD).expect("renders");
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(scan(&png).expect("scans"), PAYLOAD);
    }

    #[test]
    fn the_png_has_a_quiet_zone_and_whole_modules() {
        let png = png(PAYLOAD).expect("renders");
        let image = image::load_from_memory(&png).expect("decodes").to_luma8();
        let (width, _) = modules(PAYLOAD).expect("modules");
        assert_eq!(
            image.width(),
            u32::try_from(width + 2 * QUIET_ZONE).expect("small") * MODULE_PX
        );
        let quiet = QUIET_ZONE as u32 * MODULE_PX;
        for i in 0..image.width() {
            for edge in [0, quiet - 1] {
                assert_eq!(
                    image.get_pixel(i, edge)[0],
                    255,
                    "top quiet zone at ({i}, {edge})"
                );
                assert_eq!(
                    image.get_pixel(edge, i)[0],
                    255,
                    "left quiet zone at ({edge}, {i})"
                );
            }
        }
        assert_eq!(
            image.get_pixel(quiet, quiet)[0],
            0,
            "finder pattern corner is dark"
        );
    }

    #[test]
    fn the_svg_is_one_path_in_a_view_box_with_the_quiet_zone() {
        let svg = svg(PAYLOAD).expect("renders");
        let (width, dark) = modules(PAYLOAD).expect("modules");
        let side = width + 2 * QUIET_ZONE;
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.contains(&format!("viewBox=\"0 0 {side} {side}\"")));
        assert_eq!(
            svg.matches("h1v1h-1z").count(),
            dark.iter().filter(|d| **d).count()
        );
        assert!(!svg.contains("<script"));
    }

    #[test]
    fn garbage_and_blank_images_are_refused_with_a_reason() {
        assert!(matches!(
            scan(b"not an image"),
            Err(ScanError::UnsupportedFormat)
        ));
        let gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;";
        assert!(matches!(scan(gif), Err(ScanError::UnsupportedFormat)));
        let mut truncated = png(PAYLOAD).expect("renders");
        truncated.truncate(100);
        assert!(matches!(scan(&truncated), Err(ScanError::Broken(_))));
        let blank = GrayImage::from_pixel(200, 200, Luma([255]));
        let mut bytes = Vec::new();
        PngEncoder::new(&mut bytes)
            .write_image(blank.as_raw(), 200, 200, image::ExtendedColorType::L8)
            .expect("encodes");
        assert!(matches!(scan(&bytes), Err(ScanError::NotFound)));
    }

    #[test]
    fn a_large_photo_like_image_is_scaled_down_and_still_read() {
        let small = image::load_from_memory(&png(PAYLOAD).expect("renders"))
            .expect("decodes")
            .to_luma8();
        // The code in the middle of a 3000-pixel grey "photo", blown up 4 times.
        let code = image::imageops::resize(
            &small,
            small.width() * 4,
            small.height() * 4,
            FilterType::Nearest,
        );
        let mut photo = GrayImage::from_pixel(3000, 2400, Luma([180]));
        image::imageops::overlay(&mut photo, &code, 600, 300);
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 85)
            .write_image(photo.as_raw(), 3000, 2400, image::ExtendedColorType::L8)
            .expect("encodes");
        assert_eq!(scan(&jpeg).expect("scans"), PAYLOAD);
    }
}
