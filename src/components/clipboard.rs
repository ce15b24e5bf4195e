//! Copying to the clipboard (web-sys); a no-op during server rendering.

/// Starts copying `text`; returns false when no clipboard is available.
pub fn copy_to_clipboard(text: &str) -> bool {
    #[cfg(feature = "hydrate")]
    {
        if let Some(window) = web_sys::window() {
            // The promise settles on its own; a refusal leaves the clipboard as it was.
            let _ = window.navigator().clipboard().write_text(text);
            return true;
        }
        false
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = text;
        false
    }
}
