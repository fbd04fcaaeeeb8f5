//! The server's routes: the page and its files, the example pictures, the models list and the
//! classification API. Every error becomes a JSON answer `{"error", "status"}` with a 4xx status
//! that says what was wrong (see [`status_of`]).

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, CONTENT_LENGTH, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{json, Value};

use super::State;
use crate::error::{Error, PictureProblem, Result};
use crate::prep::picture::picture_error;

const PAGE: &str = include_str!("page/index.html");
const SCRIPT: &str = include_str!("page/page.js");
const STYLE: &str = include_str!("page/page.css");

/// The example pictures of `notebooks/examples/`, compiled in (the page's gallery).
pub(crate) const EXAMPLES: &[(&str, &[u8])] = &[
    (
        "ankle-boot.png",
        include_bytes!("../../../notebooks/examples/ankle-boot.png"),
    ),
    (
        "bag.png",
        include_bytes!("../../../notebooks/examples/bag.png"),
    ),
    (
        "pullover.png",
        include_bytes!("../../../notebooks/examples/pullover.png"),
    ),
    (
        "trouser.png",
        include_bytes!("../../../notebooks/examples/trouser.png"),
    ),
];

/// An upload declaring more than this is answered at once; up to it, the body is read (and
/// dropped) first, so a browser still sending it receives the 413 instead of a reset connection.
const DRAIN_LIMIT: u64 = 64 * 1024 * 1024;

/// The page may load only what this server sends: nothing from elsewhere, ever.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The HTTP status an error answers: what the client can fix is a 4xx.
pub fn status_of(error: &Error) -> StatusCode {
    match error {
        Error::Picture { problem, .. } => match problem {
            PictureProblem::Empty => StatusCode::BAD_REQUEST,
            PictureProblem::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            PictureProblem::NotAnImage => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            PictureProblem::Damaged | PictureProblem::NoObject => StatusCode::UNPROCESSABLE_ENTITY,
            PictureProblem::Unwritable => StatusCode::INTERNAL_SERVER_ERROR,
        },
        Error::InvalidParameter { .. } => StatusCode::BAD_REQUEST,
        Error::NoModel { .. } => StatusCode::NOT_FOUND,
        Error::ModelFile { .. } | Error::InvalidInput(_) | Error::ShapeMismatch { .. } => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

type Reply = Response<Full<Bytes>>;

fn reply(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Reply {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    headers.insert("cache-control", HeaderValue::from_static("no-store"));
    response
}

fn json_reply(status: StatusCode, value: &Value) -> Reply {
    reply(status, "application/json", value.to_string())
}

fn error_reply(status: StatusCode, message: &str) -> Reply {
    json_reply(
        status,
        &json!({ "error": message, "status": status.as_u16() }),
    )
}

/// Answers one request; never fails (an error is an answer too).
pub(crate) async fn handle(
    state: Arc<State>,
    request: Request<Incoming>,
) -> std::result::Result<Reply, Infallible> {
    let started = Instant::now();
    let (method, path) = (request.method().clone(), request.uri().path().to_string());
    let response = route(&state, request).await;
    if state.log_requests {
        eprintln!(
            "{method} {path} -> {} ({:.1} ms)",
            response.status().as_u16(),
            started.elapsed().as_secs_f64() * 1000.0
        );
    }
    Ok(response)
}

async fn route(state: &Arc<State>, request: Request<Incoming>) -> Reply {
    let path = request.uri().path().to_string();
    let get = request.method() == Method::GET;
    match path.as_str() {
        "/" | "/index.html" if get => {
            let mut page = reply(StatusCode::OK, "text/html; charset=utf-8", PAGE);
            if let Ok(csp) = HeaderValue::from_str(CSP) {
                page.headers_mut().insert("content-security-policy", csp);
            }
            page
        }
        "/page.js" if get => reply(StatusCode::OK, "text/javascript; charset=utf-8", SCRIPT),
        "/page.css" if get => reply(StatusCode::OK, "text/css; charset=utf-8", STYLE),
        "/api/models" if get => {
            let state = Arc::clone(state);
            match tokio::task::spawn_blocking(move || models_json(&state)).await {
                Ok(value) => json_reply(StatusCode::OK, &value),
                Err(e) => error_reply(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
            }
        }
        "/api/examples" if get => {
            let names: Vec<&str> = EXAMPLES.iter().map(|(name, _)| *name).collect();
            json_reply(StatusCode::OK, &json!(names))
        }
        "/api/classify" if request.method() == Method::POST => classify(state, request).await,
        p if get && p.starts_with("/examples/") => {
            match EXAMPLES
                .iter()
                .find(|(name, _)| p == format!("/examples/{name}"))
            {
                Some((_, bytes)) => reply(StatusCode::OK, "image/png", Bytes::from_static(bytes)),
                None => error_reply(
                    StatusCode::NOT_FOUND,
                    &format!("no example picture {p}: GET /api/examples lists them"),
                ),
            }
        }
        "/" | "/index.html" | "/page.js" | "/page.css" | "/api/models" | "/api/examples" => {
            error_reply(
                StatusCode::METHOD_NOT_ALLOWED,
                &format!("{path} answers GET only"),
            )
        }
        "/api/classify" => error_reply(
            StatusCode::METHOD_NOT_ALLOWED,
            "/api/classify takes POST with the picture's bytes as the body, e.g. \
             curl --data-binary @bag.png http://127.0.0.1:8765/api/classify",
        ),
        _ => error_reply(
            StatusCode::NOT_FOUND,
            &format!("nothing at {path}: the page is at /, the API at /api/classify"),
        ),
    }
}

/// `GET /api/models`: the picker's list, the default model and whether it can be used.
fn models_json(state: &State) -> Value {
    let store = &state.models;
    let (ready, problem) = match store.get(None) {
        Ok(_) => (true, None),
        Err(e) => (false, Some(e.to_string())),
    };
    json!({
        "models": store.list(),
        "models_dir": store.dir(),
        "default": { "path": store.default_path(), "ready": ready, "problem": problem },
        "classes": crate::data::CLASS_NAMES,
        "max_upload_bytes": state.max_upload_bytes,
    })
}

/// The value of `key` in a query string, percent-decoded.
fn query_param(query: Option<&str>, key: &str) -> Option<String> {
    query?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(k) == key).then(|| percent_decode(v))
    })
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn too_large(name: &Path, size: u64, limit: usize) -> Error {
    let mb = |b: f64| b / (1024.0 * 1024.0);
    picture_error(
        name,
        PictureProblem::TooLarge,
        format!(
            "the upload is {:.1} MB, over the server's limit of {:.0} MB: send a smaller picture",
            mb(size as f64),
            mb(limit as f64)
        ),
    )
}

/// The body of an upload, at most `limit` bytes.
async fn read_upload(request: Request<Incoming>, limit: usize, name: &Path) -> Result<Vec<u8>> {
    let declared: Option<u64> = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok());
    if let Some(size) = declared.filter(|&s| s > DRAIN_LIMIT) {
        return Err(too_large(name, size, limit));
    }
    let mut body = request.into_body();
    let mut bytes = Vec::with_capacity(declared.map_or(0, |d| d.min(limit as u64) as usize));
    let mut received: u64 = 0;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            picture_error(
                name,
                PictureProblem::Damaged,
                format!("the upload was cut off after {received} bytes ({e})"),
            )
        })?;
        if let Ok(data) = frame.into_data() {
            received += data.len() as u64;
            if received <= limit as u64 {
                bytes.extend_from_slice(&data);
            } else if received > DRAIN_LIMIT {
                break;
            }
        }
    }
    if received > limit as u64 {
        return Err(too_large(name, received.max(declared.unwrap_or(0)), limit));
    }
    Ok(bytes)
}

/// `POST /api/classify?model=<file name>&name=<picture's name>`, the picture as the body.
async fn classify(state: &Arc<State>, request: Request<Incoming>) -> Reply {
    let query = request.uri().query().map(str::to_string);
    let model = query_param(query.as_deref(), "model");
    let name = query_param(query.as_deref(), "name")
        .filter(|n| !n.is_empty())
        .map(|n| n.chars().take(200).collect::<String>())
        .unwrap_or_else(|| "upload".to_string());
    let form = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let file = PathBuf::from(&name);
    let Ok(_upload_slot) = state.uploads.acquire().await else {
        return error_reply(StatusCode::SERVICE_UNAVAILABLE, "the server is stopping");
    };
    let bytes = match read_upload(request, state.max_upload_bytes, &file).await {
        Ok(bytes) => bytes,
        Err(e) => return error_reply(status_of(&e), &e.to_string()),
    };
    let Ok(_classify_slot) = state.classify.acquire().await else {
        return error_reply(StatusCode::SERVICE_UNAVAILABLE, "the server is stopping");
    };
    let started = Instant::now();
    let (worker, shown) = (Arc::clone(state), name.clone());
    let done = tokio::task::spawn_blocking(move || -> Result<Value> {
        let (path, model) = worker.models.get(model.as_deref())?;
        let classification = model.classify_picture(&bytes, &file)?;
        let mut answer = serde_json::to_value(&classification)?;
        if let Value::Object(fields) = &mut answer {
            fields.insert("file".into(), json!(shown));
            fields.insert(
                "model".into(),
                json!(path.file_name().map(|f| f.to_string_lossy())),
            );
            fields.insert("classes".into(), json!(crate::data::CLASS_NAMES));
        }
        Ok(answer)
    })
    .await;
    match done {
        Ok(Ok(mut answer)) => {
            if let Value::Object(fields) = &mut answer {
                let ms = started.elapsed().as_secs_f64() * 1000.0;
                fields.insert("milliseconds".into(), json!((ms * 100.0).round() / 100.0));
            }
            json_reply(StatusCode::OK, &answer)
        }
        Ok(Err(mut e)) => {
            if form
                && matches!(
                    e,
                    Error::Picture {
                        problem: PictureProblem::NotAnImage,
                        ..
                    }
                )
            {
                e = picture_error(
                    Path::new(&name),
                    PictureProblem::NotAnImage,
                    "this is a form upload (multipart/form-data): send the picture's bytes as \
                     the body instead (curl --data-binary @picture.png)",
                );
            }
            error_reply(status_of(&e), &e.to_string())
        }
        // A panic while classifying: the task is gone, the server goes on.
        Err(e) => error_reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("classifying {name} failed inside the server ({e}); please report it"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_decoded() {
        let q = Some("model=cnn%2Bv2.safetensors&name=my+shirt%20(1).jpg&bad=%zz&cut=%4&sign=%+1");
        assert_eq!(
            query_param(q, "model").as_deref(),
            Some("cnn+v2.safetensors")
        );
        assert_eq!(query_param(q, "name").as_deref(), Some("my shirt (1).jpg"));
        assert_eq!(query_param(q, "bad").as_deref(), Some("%zz"));
        assert_eq!(query_param(q, "cut").as_deref(), Some("%4"));
        assert_eq!(query_param(q, "sign").as_deref(), Some("% 1"));
        assert_eq!(query_param(q, "missing"), None);
        assert_eq!(query_param(None, "model"), None);
        assert_eq!(query_param(Some("flag"), "flag").as_deref(), Some(""));
    }

    #[test]
    fn every_picture_problem_has_its_status() {
        let e = |problem| Error::Picture {
            path: "x".into(),
            problem,
            reason: String::new(),
        };
        assert_eq!(status_of(&e(PictureProblem::Empty)), 400);
        assert_eq!(status_of(&e(PictureProblem::TooLarge)), 413);
        assert_eq!(status_of(&e(PictureProblem::NotAnImage)), 415);
        assert_eq!(status_of(&e(PictureProblem::Damaged)), 422);
        assert_eq!(status_of(&e(PictureProblem::NoObject)), 422);
        assert_eq!(status_of(&Error::NoModel { path: "m".into() }), 404);
    }
}
