//! `fashion-lab serve` end to end (built with `--features serve`; `make test` runs it): the HTTP
//! API on in-process servers, and the page in Debian's headless Chromium against the binary.
//! The model is a tiny MLP trained here on real images, so nothing depends on `models/`.

mod api;
mod browser;
mod common;
mod webdriver;
