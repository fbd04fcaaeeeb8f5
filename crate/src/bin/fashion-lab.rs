//! `fashion-lab classify <image>...`: classifies pictures of clothing with a saved model, outside
//! Jupyter (the deployment of report 001); `--json` prints one JSON object a line for scripts.
//! `fashion-lab serve` (built with the `serve` feature: `make serve`) is the same as a web page
//! and an HTTP API. The model comes from notebook 02, which saves it to
//! `models/02-deep-cnn.safetensors`.
//!
//!     cargo run --release -p fashion-lab --bin fashion-lab -- classify notebooks/examples/bag.png

use std::path::PathBuf;
use std::process::ExitCode;

use fashion_lab::{Error, Model};

const DEFAULT_MODEL: &str = "models/02-deep-cnn.safetensors";

const USAGE: &str = "usage: fashion-lab classify [--model PATH] [--json] <image>...
       fashion-lab serve [--host HOST] [--port PORT] [--models DIR] [--model NAME|PATH]

classify   classifies each PNG or JPEG picture of one clothing item and prints its class and
           confidence, one line a picture
  --model PATH   a model saved by Model::save (default: models/02-deep-cnn.safetensors,
                 written by notebooks/02-logistic-vs-deep-cnn.ipynb)
  --json         one JSON object a line instead: file, class, name, confidence, the ten
                 probabilities and the 28x28 input the model saw (or file and error)

serve      the same as a web page and an HTTP API (POST /api/classify with the picture as
           the body); needs a build with `--features serve` (`make serve` does it)
  --host HOST    address to listen on (default 127.0.0.1: this computer only)
  --port PORT    port (default 8765; 0 picks a free one)
  --models DIR   the folder the model picker lists (default $FASHION_LAB_MODELS, else models)
  --model M      the default model: a file name in DIR or a path (default 02-deep-cnn.safetensors)";

#[derive(Debug, PartialEq)]
enum Command {
    Classify {
        model: PathBuf,
        json: bool,
        images: Vec<PathBuf>,
    },
    Serve {
        host: Option<String>,
        port: Option<u16>,
        models: Option<PathBuf>,
        model: Option<PathBuf>,
    },
}

fn value<'a>(rest: &mut impl Iterator<Item = &'a String>, flag: &str) -> Result<&'a str, String> {
    rest.next()
        .map(String::as_str)
        .ok_or_else(|| format!("{flag} needs a value"))
}

fn parse(args: &[String]) -> Result<Command, String> {
    let mut rest = args.iter().skip(1);
    match args.first().map(String::as_str) {
        Some("classify") => {
            let (mut model, mut json, mut images) = (PathBuf::from(DEFAULT_MODEL), false, vec![]);
            while let Some(arg) = rest.next() {
                match arg.as_str() {
                    "--model" => model = PathBuf::from(value(&mut rest, "--model")?),
                    "--json" => json = true,
                    flag if flag.starts_with("--") => {
                        return Err(format!("unknown option `{flag}`"))
                    }
                    image => images.push(PathBuf::from(image)),
                }
            }
            if images.is_empty() {
                return Err("no image given".into());
            }
            Ok(Command::Classify {
                model,
                json,
                images,
            })
        }
        Some("serve") => {
            let (mut host, mut port, mut models, mut model) = (None, None, None, None);
            while let Some(arg) = rest.next() {
                match arg.as_str() {
                    "--host" => host = Some(value(&mut rest, "--host")?.to_string()),
                    "--port" => {
                        let text = value(&mut rest, "--port")?;
                        port = Some(text.parse().map_err(|_| {
                            format!("--port {text}: give a port number from 0 to 65535")
                        })?);
                    }
                    "--models" => models = Some(PathBuf::from(value(&mut rest, "--models")?)),
                    "--model" => model = Some(PathBuf::from(value(&mut rest, "--model")?)),
                    other => return Err(format!("unknown option `{other}`")),
                }
            }
            Ok(Command::Serve {
                host,
                port,
                models,
                model,
            })
        }
        Some(other) => Err(format!("unknown command `{other}`")),
        None => Err("no command given".into()),
    }
}

fn load_model(path: &PathBuf) -> Result<Model, Error> {
    if !path.is_file() {
        return Err(Error::NoModel { path: path.clone() });
    }
    Model::load(path)
}

fn classify(model: &PathBuf, json: bool, images: &[PathBuf]) -> ExitCode {
    let model = match load_model(model) {
        Ok(model) => model,
        Err(why) => {
            eprintln!("error: {why}");
            return ExitCode::FAILURE;
        }
    };
    let mut failed = 0;
    for image in images {
        let file = image.display().to_string();
        let outcome = model.classify_image(image);
        match (&outcome, json) {
            (Ok(c), false) => println!(
                "{file}: {} (confidence {:.1} %)",
                c.name,
                100.0 * c.confidence
            ),
            (Ok(c), true) => {
                let mut line = serde_json::to_value(c).unwrap_or_default();
                if let serde_json::Value::Object(fields) = &mut line {
                    fields.insert("file".into(), file.into());
                }
                println!("{line}");
            }
            (Err(e), false) => eprintln!("error: {file}: {e}"),
            (Err(e), true) => {
                println!(
                    "{}",
                    serde_json::json!({ "file": file, "error": e.to_string() })
                )
            }
        }
        failed += usize::from(outcome.is_err());
    }
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

#[cfg(feature = "serve")]
fn serve(
    host: Option<String>,
    port: Option<u16>,
    models: Option<PathBuf>,
    model: Option<PathBuf>,
) -> ExitCode {
    use fashion_lab::serve::{ServeConfig, Server};
    let defaults = ServeConfig::default();
    let config = ServeConfig {
        host: host.unwrap_or(defaults.host.clone()),
        port: port.unwrap_or(defaults.port),
        models_dir: models.unwrap_or(defaults.models_dir.clone()),
        model: model.unwrap_or(defaults.model.clone()),
        ..defaults
    };
    let server = match Server::bind(config) {
        Ok(server) => server,
        Err(why) => {
            eprintln!("error: {why}");
            return ExitCode::FAILURE;
        }
    };
    let store = server.models();
    println!(
        "fashion-lab serve: open {} (models from {}/, default {}; Ctrl+C stops)",
        server.url(),
        store.dir().display(),
        store.default_path().display()
    );
    if let Err(why) = store.get(None) {
        eprintln!("warning: {why}\n         The page will say so; it can still use another model in the picker.");
    }
    match server.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(why) => {
            eprintln!("error: {why}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(not(feature = "serve"))]
fn serve(_: Option<String>, _: Option<u16>, _: Option<PathBuf>, _: Option<PathBuf>) -> ExitCode {
    eprintln!(
        "error: this fashion-lab was built without the server. Run `make serve`, or build with \
         `cargo run --release -p fashion-lab --features serve --bin fashion-lab -- serve`"
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    match parse(&args) {
        Ok(Command::Classify {
            model,
            json,
            images,
        }) => classify(&model, json, &images),
        Ok(Command::Serve {
            host,
            port,
            models,
            model,
        }) => serve(host, port, models, model),
        Err(why) => {
            eprintln!("error: {why}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_images_and_model() {
        let parsed = parse(&strings(&[
            "classify",
            "--model",
            "m.safetensors",
            "a.png",
            "--json",
            "b.png",
        ]));
        assert_eq!(
            parsed,
            Ok(Command::Classify {
                model: PathBuf::from("m.safetensors"),
                json: true,
                images: vec![PathBuf::from("a.png"), PathBuf::from("b.png")],
            })
        );
        let parsed = parse(&strings(&["classify", "a.png"]));
        assert!(
            matches!(parsed, Ok(Command::Classify { ref model, json: false, .. }) if model == &PathBuf::from(DEFAULT_MODEL))
        );
        assert!(parse(&strings(&["classify"])).is_err());
        assert!(parse(&strings(&["classify", "--model"])).is_err());
        assert!(parse(&strings(&["train", "a.png"])).is_err());
        assert!(parse(&strings(&[])).is_err());
    }

    #[test]
    fn parses_serve_options() {
        let parsed = parse(&strings(&[
            "serve",
            "--port",
            "9000",
            "--host",
            "0.0.0.0",
            "--model",
            "x.safetensors",
        ]));
        assert_eq!(
            parsed,
            Ok(Command::Serve {
                host: Some("0.0.0.0".into()),
                port: Some(9000),
                models: None,
                model: Some(PathBuf::from("x.safetensors")),
            })
        );
        let err = parse(&strings(&["serve", "--port", "http"])).expect_err("bad port");
        assert!(err.contains("0 to 65535"), "{err}");
        assert!(parse(&strings(&["serve", "--verbose"])).is_err());
    }

    #[test]
    fn missing_model_says_how_to_make_it() {
        let err = load_model(&PathBuf::from("no/such/model.safetensors")).expect_err("missing");
        assert!(matches!(err, Error::NoModel { .. }));
        assert!(err.to_string().contains("02-logistic-vs-deep-cnn"), "{err}");
    }
}
