//! `fashion-lab classify <image>...`: classifies pictures of clothing with a saved model, outside
//! Jupyter (the deployment of report 001). The model comes from notebook 02, which saves it to
//! `models/02-deep-cnn.safetensors`.
//!
//!     cargo run --release -p fashion-lab --bin fashion-lab -- classify notebooks/examples/bag.png

use std::path::PathBuf;
use std::process::ExitCode;

use fashion_lab::Model;

const DEFAULT_MODEL: &str = "models/02-deep-cnn.safetensors";

const USAGE: &str = "usage: fashion-lab classify [--model PATH] <image>...

Classifies each PNG or JPEG picture of one clothing item and prints its class and confidence.
  --model PATH   a model saved by Model::save (default: models/02-deep-cnn.safetensors,
                 written by notebooks/02-logistic-vs-deep-cnn.ipynb)";

struct Args {
    model: PathBuf,
    images: Vec<PathBuf>,
}

fn parse(args: &[String]) -> Result<Args, String> {
    match args.first().map(String::as_str) {
        Some("classify") => {}
        Some(other) => return Err(format!("unknown command `{other}`")),
        None => return Err("no command given".into()),
    }
    let mut model = PathBuf::from(DEFAULT_MODEL);
    let mut images = Vec::new();
    let mut rest = args[1..].iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--model" => match rest.next() {
                Some(path) => model = PathBuf::from(path),
                None => return Err("--model needs a path".into()),
            },
            flag if flag.starts_with("--") => return Err(format!("unknown option `{flag}`")),
            image => images.push(PathBuf::from(image)),
        }
    }
    if images.is_empty() {
        return Err("no image given".into());
    }
    Ok(Args { model, images })
}

fn load_model(path: &PathBuf) -> Result<Model, String> {
    if !path.is_file() {
        return Err(format!(
            "no model at {}. Create it by running notebooks/02-logistic-vs-deep-cnn.ipynb \
             (`make reports`, or its cells in Jupyter: the deployment section saves it), \
             or pass --model PATH to a saved model",
            path.display()
        ));
    }
    Model::load(path).map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let args = match parse(&args) {
        Ok(args) => args,
        Err(why) => {
            eprintln!("error: {why}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let model = match load_model(&args.model) {
        Ok(model) => model,
        Err(why) => {
            eprintln!("error: {why}");
            return ExitCode::FAILURE;
        }
    };
    let mut failed = 0;
    for image in &args.images {
        match model.classify_image(image) {
            Ok(c) => println!(
                "{}: {} (confidence {:.1} %)",
                image.display(),
                c.name,
                100.0 * c.confidence
            ),
            Err(e) => {
                eprintln!("error: {}: {e}", image.display());
                failed += 1;
            }
        }
    }
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
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
        let args = parse(&strings(&[
            "classify",
            "--model",
            "m.safetensors",
            "a.png",
            "b.png",
        ]))
        .expect("valid");
        assert_eq!(args.model, PathBuf::from("m.safetensors"));
        assert_eq!(args.images.len(), 2);
        let args = parse(&strings(&["classify", "a.png"])).expect("valid");
        assert_eq!(args.model, PathBuf::from(DEFAULT_MODEL));
        assert!(parse(&strings(&["classify"])).is_err());
        assert!(parse(&strings(&["classify", "--model"])).is_err());
        assert!(parse(&strings(&["train", "a.png"])).is_err());
        assert!(parse(&strings(&[])).is_err());
    }

    #[test]
    fn missing_model_says_how_to_make_it() {
        let err = load_model(&PathBuf::from("no/such/model.safetensors")).expect_err("missing");
        assert!(err.contains("02-logistic-vs-deep-cnn"), "{err}");
    }
}
