//! The HTTP API: the same answers as `classify_image`, a 4xx with a clear message for each bad
//! input (and the server still serving after them), concurrent uploads, the model picker.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::Duration;

use fashion_lab::serve::client;
use serde_json::Value;

use crate::common::*;

fn f32s(value: &Value) -> Vec<f32> {
    value
        .as_array()
        .expect("an array")
        .iter()
        .map(|v| v.as_f64().expect("a number") as f32)
        .collect()
}

/// The answer for a picture is `classify_image`'s on the same file, field for field.
fn assert_same_as_classify_image(answer: &Value, file: &PathBuf) {
    let fixture = fixture();
    let expected = fixture.model.classify_image(file).expect("classify_image");
    assert_eq!(answer["class"], expected.class, "{answer}");
    assert_eq!(answer["name"], expected.name, "{answer}");
    let confidence = answer["confidence"].as_f64().expect("confidence") as f32;
    assert!((confidence - expected.confidence).abs() < 1e-6, "{answer}");
    let probabilities = f32s(&answer["probabilities"]);
    assert_eq!(probabilities.len(), 10);
    for (got, want) in probabilities.iter().zip(&expected.probabilities) {
        assert!((got - want).abs() < 1e-6, "{got} vs {want}");
    }
    let input: Vec<u8> = answer["input"]
        .as_array()
        .expect("input")
        .iter()
        .map(|v| v.as_u64().expect("a pixel") as u8)
        .collect();
    assert_eq!(input, expected.input, "the 28x28 image the model saw");
}

#[test]
fn classifies_the_examples_as_classify_image_does() {
    let fixture = fixture();
    let server = start_server(&fixture.models, TINY);
    let mut right = 0;
    for (name, class) in EXAMPLES {
        let bytes = std::fs::read(example(name)).expect("example");
        let response = post(&server, &format!("?name={name}"), &bytes);
        assert_eq!(
            response.status,
            200,
            "{}",
            String::from_utf8_lossy(&response.body)
        );
        assert_eq!(response.header("content-type"), Some("application/json"));
        let answer = response.json().expect("JSON");
        assert_same_as_classify_image(&answer, &example(name));
        assert_eq!(answer["file"], name);
        assert_eq!(answer["model"], TINY);
        assert_eq!(
            answer["classes"][answer["class"].as_u64().map_or(0, |c| c as usize)],
            answer["name"]
        );
        right += usize::from(answer["name"] == class);
    }
    // A tiny MLP, not the CNN: it may miss one of the four, not more.
    assert!(right >= 3, "{right} of 4 examples classified right");

    // The gallery serves the same example files.
    let listed = get(&server, "/api/examples").json().expect("JSON");
    assert_eq!(listed.as_array().map(Vec::len), Some(4), "{listed}");
    for (name, _) in EXAMPLES {
        let served = get(&server, &format!("/examples/{name}"));
        assert_eq!(served.status, 200);
        assert_eq!(served.body, std::fs::read(example(name)).expect("example"));
    }
    let page = get(&server, "/");
    assert_eq!(page.status, 200);
    let csp = page.header("content-security-policy").expect("a CSP");
    assert!(csp.contains("default-src 'none'"), "{csp}");
    let html = String::from_utf8_lossy(&page.body);
    let remote = ["src=\"http", "href=\"http", "src=\"//", "href=\"//"];
    assert!(
        html.contains("/page.js") && !remote.iter().any(|r| html.contains(r)),
        "offline page: {html}"
    );
}

/// Status and message for one bad request.
fn refused(response: &client::HttpResponse) -> (u16, String) {
    let answer = response.json().expect("an error answer is JSON");
    assert_eq!(answer["status"], response.status, "{answer}");
    let message = answer["error"]
        .as_str()
        .expect("an error message")
        .to_string();
    println!("HTTP {}: {message}", response.status);
    (response.status, message)
}

#[test]
fn bad_input_gets_a_4xx_with_a_clear_message_and_the_server_goes_on() {
    let fixture = fixture();
    let server = start_server(&fixture.models, TINY);
    let bag = std::fs::read(example("bag.png")).expect("example");
    let white = {
        let mut png = Vec::new();
        image::GrayImage::from_pixel(64, 64, image::Luma([255]))
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .expect("encode");
        png
    };
    let mut too_big = b"\x89PNG\r\n\x1a\n".to_vec();
    too_big.resize(21 * 1024 * 1024, 0);
    let cases: Vec<(&str, String, Vec<u8>, u16, &str)> = vec![
        (
            "empty upload",
            "?name=empty.png".into(),
            vec![],
            400,
            "is empty (0 bytes)",
        ),
        (
            "not an image",
            "?name=notes.txt".into(),
            b"These are my notes, not a picture.".to_vec(),
            415,
            "not a PNG or JPEG picture",
        ),
        (
            "another format",
            "?name=anim.gif".into(),
            b"GIF89a\x01\x00\x01\x00\x00\x00\x00;".to_vec(),
            415,
            "GIF picture",
        ),
        (
            "truncated PNG",
            "?name=half.png".into(),
            bag[..bag.len() / 2].to_vec(),
            422,
            "truncated or damaged",
        ),
        (
            "a flat picture",
            "?name=white.png".into(),
            white,
            422,
            "no object stands out",
        ),
        (
            "over the size limit",
            "?name=huge.png".into(),
            too_big,
            413,
            "over the server's limit of 20 MB",
        ),
        (
            "a model outside models/",
            "?model=../secret.safetensors".into(),
            bag.clone(),
            400,
            "not a path",
        ),
        (
            "a model that does not exist",
            "?model=missing.safetensors".into(),
            bag.clone(),
            404,
            "02-logistic-vs-deep-cnn",
        ),
        (
            "a model file that is not a model",
            format!("?model={BROKEN}"),
            bag.clone(),
            422,
            "not a fashion-lab model file",
        ),
    ];
    for (what, query, body, status, says) in &cases {
        let (got, message) = refused(&post(&server, query, body));
        assert_eq!((got, what), (*status, what), "{message}");
        assert!(message.contains(says), "{what}: {message}");
    }

    // A form upload (curl -F) is told how to send the picture instead.
    let form = client::request(
        &server.address().to_string(),
        "POST",
        "/api/classify",
        Some("multipart/form-data; boundary=x"),
        b"--x\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nabc\r\n--x--\r\n",
        Duration::from_secs(10),
    )
    .expect("answer");
    let (status, message) = refused(&form);
    assert_eq!(status, 415);
    assert!(message.contains("--data-binary"), "{message}");

    // A declared size far over the limit is refused before any body is read.
    let mut raw = TcpStream::connect(server.address()).expect("connect");
    raw.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    raw.write_all(
        b"POST /api/classify HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000000\r\n\r\n\x89PNG",
    )
    .expect("send");
    let mut answer = Vec::new();
    raw.read_to_end(&mut answer).ok();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("over the server's limit"), "{answer}");

    assert_eq!(refused(&get(&server, "/api/classify")).0, 405);
    assert_eq!(refused(&get(&server, "/nothing-here")).0, 404);
    assert_eq!(refused(&get(&server, "/examples/secret.png")).0, 404);

    // And it still classifies.
    let after = post(&server, "?name=bag.png", &bag);
    assert_eq!(after.status, 200);
    assert_same_as_classify_image(&after.json().expect("JSON"), &example("bag.png"));
}

#[test]
fn concurrent_uploads_are_all_answered() {
    let fixture = fixture();
    let server = start_server(&fixture.models, TINY);
    let address = server.address().to_string();
    let pictures: Vec<(String, Vec<u8>)> = EXAMPLES
        .iter()
        .map(|(name, _)| {
            (
                name.to_string(),
                std::fs::read(example(name)).expect("example"),
            )
        })
        .collect();
    let expected: Vec<String> = EXAMPLES
        .iter()
        .map(|(name, _)| {
            fixture
                .model
                .classify_image(example(name))
                .expect("classify")
                .name
                .to_string()
        })
        .collect();
    let answers: Vec<Vec<(usize, u16, String)>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..24)
            .map(|w| {
                let (address, pictures) = (&address, &pictures);
                scope.spawn(move || {
                    (0..6)
                        .map(|i| {
                            let k = (w + i) % pictures.len();
                            let r = client::request(
                                address,
                                "POST",
                                &format!("/api/classify?name={}", pictures[k].0),
                                None,
                                &pictures[k].1,
                                Duration::from_secs(60),
                            )
                            .expect("answer");
                            let name = r
                                .json()
                                .ok()
                                .and_then(|a| a["name"].as_str().map(String::from));
                            (k, r.status, name.unwrap_or_default())
                        })
                        .collect()
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("worker"))
            .collect()
    });
    let all: Vec<_> = answers.into_iter().flatten().collect();
    assert_eq!(all.len(), 24 * 6);
    for (k, status, name) in &all {
        assert_eq!((*status, name), (200, &expected[*k]));
    }
}

#[test]
fn the_model_picker_lists_the_models_folder() {
    let fixture = fixture();
    let server = start_server(&fixture.models, TINY);
    let info = get(&server, "/api/models").json().expect("JSON");
    let names: Vec<&str> = info["models"]
        .as_array()
        .expect("models")
        .iter()
        .filter_map(|m| m["name"].as_str())
        .collect();
    assert_eq!(names, [BROKEN, TINY], "{info}");
    assert_eq!(info["models"][1]["default"], true);
    assert_eq!(info["default"]["ready"], true, "{info}");
    assert_eq!(info["max_upload_bytes"], 20 * 1024 * 1024);
    assert_eq!(info["classes"][9], "Ankle boot");

    // No default model: the server still serves and says how to make one.
    let empty = fixture.scratch.join("no-models");
    let server = start_server(&empty, "02-deep-cnn.safetensors");
    let info = get(&server, "/api/models").json().expect("JSON");
    assert_eq!(info["default"]["ready"], false);
    let problem = info["default"]["problem"].as_str().expect("problem");
    assert!(
        problem.contains("notebooks/02-logistic-vs-deep-cnn.ipynb")
            && problem.contains("make reports"),
        "{problem}"
    );
    let bag = std::fs::read(example("bag.png")).expect("example");
    let (status, message) = refused(&post(&server, "", &bag));
    assert_eq!(status, 404);
    assert!(message.contains("make serve MODEL="), "{message}");
    assert!(!empty.exists(), "the server creates no folder");

    // The models folder is as it was: the server wrote nothing.
    let mut files: Vec<String> = std::fs::read_dir(&fixture.models)
        .expect("models")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files, [BROKEN, TINY]);
}

#[test]
fn classify_json_prints_what_the_api_answers() {
    let fixture = fixture();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_fashion-lab"));
    command
        .args(["classify", "--json", "--model"])
        .arg(fixture.models.join(TINY));
    for (name, _) in EXAMPLES {
        command.arg(example(name));
    }
    command.arg(fixture.models.join(BROKEN));
    let output = command.output().expect("run fashion-lab classify --json");
    assert!(
        !output.status.success(),
        "one file is not a picture: exit 1"
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object a line"))
        .collect();
    assert_eq!(lines.len(), 5, "{stdout}");
    for (line, (name, _)) in lines.iter().zip(EXAMPLES) {
        assert_same_as_classify_image(line, &example(name));
        assert!(
            line["file"].as_str().is_some_and(|f| f.ends_with(name)),
            "{line}"
        );
    }
    let error = lines[4]["error"].as_str().expect("an error line");
    assert!(error.contains("not a PNG or JPEG picture"), "{error}");
}
