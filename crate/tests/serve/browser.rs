//! The page in a real browser: `fashion-lab serve` (the binary, started as `make serve` does)
//! driven through Debian's headless Chromium. The four example pictures are uploaded through the
//! file input and the predicted classes and confidences are read off the page; then a click on
//! the gallery, the keyboard, a paste, a drop, the model picker and bad files. Fails, rather than
//! skips, when Chromium is missing: set-up installs it.
//!
//! The screenshot of the four examples classified is written to target/tmp/serve-page.png (and
//! to `$FASHION_LAB_SCREENSHOT` when set).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

use crate::common::*;
use crate::webdriver::{required, Browser};

/// `fashion-lab serve` in its own process; killed when dropped.
struct ServerProcess {
    child: Child,
    url: String,
}

impl ServerProcess {
    fn start(models: &Path, working_dir: &Path) -> ServerProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_fashion-lab"))
            .args(["serve", "--port", "0", "--model", TINY, "--models"])
            .arg(models)
            .current_dir(working_dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start fashion-lab serve");
        let mut line = String::new();
        if let Some(out) = child.stdout.take() {
            BufReader::new(out).read_line(&mut line).ok();
        }
        // "fashion-lab serve: open http://127.0.0.1:PORT/ (models from ...)"
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("fashion-lab serve did not start: {line:?}"))
            .to_string();
        ServerProcess { child, url }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// Every result card, newest first, as the page shows it.
const READ_CARDS: &str = r#"
return [...document.querySelectorAll('#results .card')].map((card) => {
  const text = (css) => { const e = card.querySelector(css); return e ? e.textContent : null; };
  const pixels = card.querySelector('canvas').getContext('2d').getImageData(0, 0, 28, 28).data;
  let lit = 0;
  for (let i = 0; i < pixels.length; i += 4) if (pixels[i] > 0) lit++;
  const picture = card.querySelector('.picture');
  return {
    file: text('.file'), state: card.dataset.state, outcome: text('.outcome'),
    class: text('.outcome .class'), confidence: text('.outcome .confidence'),
    bars: [...card.querySelectorAll('.bars li')].map((li) => li.textContent),
    top: text('.bars li.top .label'), lit, picture: picture ? picture.naturalWidth : 0,
  };
});"#;

fn cards_settled(n: usize) -> String {
    format!(
        "const cards = [...document.querySelectorAll('#results .card')]; \
         return cards.length >= {n} && cards.every((c) => c.dataset.state !== 'pending');"
    )
}

fn read_cards(browser: &Browser, n: usize) -> Vec<Value> {
    browser.wait_for(
        &format!("{n} results"),
        &cards_settled(n),
        Duration::from_secs(30),
    );
    let cards = browser.execute(READ_CARDS, json!([]));
    cards.as_array().expect("cards").clone()
}

/// A card shows what `classify_image` makes of the example `name`.
fn assert_card_is(card: &Value, name: &str) {
    let expected = fixture()
        .model
        .classify_image(example(name))
        .expect("classify");
    assert_eq!(card["state"], "done", "{card}");
    assert_eq!(card["class"], expected.name, "{name}: {card}");
    let shown: f32 = card["confidence"]
        .as_str()
        .and_then(|c| c.trim_end_matches(" %").parse().ok())
        .unwrap_or_else(|| panic!("no confidence on the page: {card}"));
    assert!(
        (shown - 100.0 * expected.confidence).abs() <= 0.051,
        "{name}: {card}"
    );
    assert_eq!(card["bars"].as_array().map(Vec::len), Some(10), "{card}");
    assert_eq!(card["top"], expected.name, "{card}");
    let lit = expected.input.iter().filter(|&&p| p > 0).count();
    assert_eq!(card["lit"], lit, "the 28x28 image drawn: {card}");
    assert!(
        card["picture"].as_u64().is_some_and(|w| w > 28),
        "the picture shown: {card}"
    );
    println!("{name}: {} {}", card["class"], card["confidence"]);
}

#[test]
fn the_page_classifies_pictures_in_headless_chromium() {
    let chromium = required("/usr/bin/chromium");
    let chromedriver = required("/usr/bin/chromedriver");
    let fixture = fixture();
    let run = fixture.scratch.join("browser");
    let working_dir = run.join("server-cwd");
    std::fs::create_dir_all(&working_dir).expect("working folder");
    let server = ServerProcess::start(&fixture.models, &working_dir);
    let browser = Browser::start(chromium, chromedriver, &run.join("profile"), 1280, 900);
    browser.navigate(&server.url);
    browser.wait_for(
        "the models and examples",
        "return document.querySelectorAll('#model option').length > 0 \
         && document.querySelectorAll('#gallery button').length === 4;",
        Duration::from_secs(20),
    );
    let options = browser.execute(
        "return [...document.querySelectorAll('#model option')].map((o) => o.textContent);",
        json!([]),
    );
    let options = options.to_string();
    assert!(
        options.contains(&format!("{TINY} (default)")) && options.contains(BROKEN),
        "{options}"
    );

    // The four examples through the file input, at once.
    let paths: Vec<String> = EXAMPLES
        .iter()
        .map(|(name, _)| {
            example(name)
                .canonicalize()
                .expect("example")
                .display()
                .to_string()
        })
        .collect();
    browser.send_keys(&browser.find("#files"), &paths.join("\n"));
    let cards = read_cards(&browser, 4);
    for (card, (name, _)) in cards.iter().zip(EXAMPLES) {
        assert_eq!(card["file"], name);
        assert_card_is(card, name);
    }
    // The whole page in one screenshot: the window as tall as the page (plus the window's frame).
    let sizes = browser.execute(
        "return [document.documentElement.scrollHeight, window.outerHeight - window.innerHeight];",
        json!([]),
    );
    let height = sizes[0].as_u64().unwrap_or(1400) + sizes[1].as_u64().unwrap_or(0);
    browser.set_window(1280, height as u32);
    let png = browser.screenshot();
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("serve-page.png");
    std::fs::write(&shot, &png).expect("write the screenshot");
    if let Some(path) = std::env::var_os("FASHION_LAB_SCREENSHOT") {
        std::fs::write(path, &png).expect("write the screenshot");
    }
    println!("screenshot: {} ({} KB)", shot.display(), png.len() / 1024);

    // A click on the gallery; Enter on a focused gallery button (the keyboard).
    browser.click(&browser.find("#gallery button[data-example='bag.png']"));
    assert_card_is(&read_cards(&browser, 5)[0], "bag.png");
    browser.send_keys(
        &browser.find("#gallery button[data-example='trouser.png']"),
        "\u{E007}",
    );
    assert_card_is(&read_cards(&browser, 6)[0], "trouser.png");

    // A picture pasted from the clipboard, and one dropped on the page.
    for (event, name) in [("paste", "pullover.png"), ("drop", "ankle-boot.png")] {
        let fired = browser.execute_async(&format!(
            "const done = arguments[arguments.length - 1];
             fetch('/examples/{name}').then((r) => r.blob()).then((blob) => {{
               const data = new DataTransfer();
               data.items.add(new File([blob], '{event}-{name}', {{ type: 'image/png' }}));
               const e = '{event}' === 'paste'
                 ? new ClipboardEvent('paste', {{ clipboardData: data, bubbles: true, cancelable: true }})
                 : new DragEvent('drop', {{ dataTransfer: data, bubbles: true, cancelable: true }});
               document.querySelector('#drop').dispatchEvent(e);
               done(true);
             }});"
        ));
        assert_eq!(fired, true);
        let n = if event == "paste" { 7 } else { 8 };
        let card = &read_cards(&browser, n)[0];
        assert_eq!(card["file"], format!("{event}-{name}"));
        assert_card_is(card, name);
    }

    // Bad files: a clear message on the page, with the HTTP status.
    let bad = run.join("bad");
    std::fs::create_dir_all(&bad).expect("folder");
    let bag = std::fs::read(example("bag.png")).expect("example");
    let mut huge = b"\x89PNG\r\n\x1a\n".to_vec();
    huge.resize(21 * 1024 * 1024, 0);
    let files: [(&str, Vec<u8>, &str); 4] = [
        (
            "notes.txt",
            b"not a picture".to_vec(),
            "HTTP 415: picture notes.txt: it is not a PNG or JPEG picture",
        ),
        (
            "half.png",
            bag[..bag.len() / 2].to_vec(),
            "HTTP 422: picture half.png: it starts as a PNG file but does not decode",
        ),
        (
            "empty.png",
            vec![],
            "HTTP 400: picture empty.png: the file is empty (0 bytes)",
        ),
        (
            "huge.png",
            huge,
            "HTTP 413: picture huge.png: the upload is 21.0 MB, over the server's limit of 20 MB",
        ),
    ];
    let mut paths = Vec::new();
    for (name, bytes, _) in &files {
        std::fs::write(bad.join(name), bytes).expect("write");
        paths.push(bad.join(name).display().to_string());
    }
    browser.send_keys(&browser.find("#files"), &paths.join("\n"));
    let cards = read_cards(&browser, 12);
    for (card, (name, _, says)) in cards.iter().zip(&files) {
        assert_eq!(
            (card["file"].as_str(), card["state"].as_str()),
            (Some(*name), Some("failed"))
        );
        let outcome = card["outcome"].as_str().unwrap_or_default();
        assert!(outcome.starts_with(says), "{name}: {outcome}");
        println!("{outcome}");
    }

    // The model picker: a file that is not a model, then back to the default.
    browser.click(&browser.find(&format!("#model option[value='{BROKEN}']")));
    browser.click(&browser.find("#gallery button[data-example='bag.png']"));
    let card = &read_cards(&browser, 13)[0];
    let outcome = card["outcome"].as_str().unwrap_or_default();
    assert!(
        outcome.starts_with("HTTP 422: model file ")
            && outcome.contains("not a fashion-lab model file"),
        "{outcome}"
    );
    println!("{outcome}");
    browser.click(&browser.find("#model option[value='']"));
    browser.click(&browser.find("#gallery button[data-example='bag.png']"));
    assert_card_is(&read_cards(&browser, 14)[0], "bag.png");

    // Readable on a phone: no sideways scrolling at 390 px.
    browser.set_window(390, 844);
    let overflow = browser.execute(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
        json!([]),
    );
    assert_eq!(overflow, 0, "the page scrolls sideways on a phone");

    drop(browser);
    drop(server);
    let written: Vec<_> = std::fs::read_dir(&working_dir).expect("folder").collect();
    assert!(
        written.is_empty(),
        "the server wrote into its working folder: {written:?}"
    );
}
