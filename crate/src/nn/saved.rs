//! A trained model in one file: every weight as a safetensors tensor (readable from Python with
//! `safetensors.numpy.load_file`), the architecture as JSON in the file's metadata.

use std::collections::HashMap;
use std::path::Path;

use ndarray::Array2;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use super::model::Model;
use super::sequential::Sequential;
use crate::error::{create_parent_dir, Error, Result};

const FORMAT: &str = "fashion-lab model";
const VERSION: &str = "1";

fn not_a_model(path: &Path, why: impl std::fmt::Display) -> Error {
    Error::ModelFile {
        path: path.to_path_buf(),
        reason: format!("not a fashion-lab model file ({why}); save one with `model.save(path)`"),
    }
}

fn tensor_name(i: usize) -> String {
    format!("weight.{i:04}")
}

impl Model {
    /// Writes the architecture and every weight (batch-norm statistics included) to `path`
    /// (conventionally `….safetensors`). The file appears only once complete.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let weights = self.weights();
        let bytes: Vec<Vec<u8>> = weights
            .iter()
            .map(|w| w.iter().flat_map(|v| v.to_le_bytes()).collect())
            .collect();
        let mut tensors = Vec::with_capacity(weights.len());
        for (i, (w, b)) in weights.iter().zip(&bytes).enumerate() {
            let view = TensorView::new(Dtype::F32, vec![w.nrows(), w.ncols()], b).map_err(|e| {
                Error::ModelFile {
                    path: path.to_path_buf(),
                    reason: format!("cannot store weight {i}: {e}"),
                }
            })?;
            tensors.push((tensor_name(i), view));
        }
        let spec = serde_json::to_string(&self.spec)?;
        let mut metadata = HashMap::from([
            ("format".to_string(), FORMAT.to_string()),
            ("version".to_string(), VERSION.to_string()),
            ("architecture".to_string(), spec),
            ("seed".to_string(), self.seed.to_string()),
        ]);
        // How raw pixels become its inputs, so a loaded model scales a picture as in training.
        if let Some(preprocessing) = &self.preprocessing {
            metadata.insert(
                "preprocessing".to_string(),
                serde_json::to_string(preprocessing)?,
            );
        }
        let buffer =
            safetensors::serialize(tensors, Some(metadata)).map_err(|e| Error::ModelFile {
                path: path.to_path_buf(),
                reason: format!("cannot encode the model: {e}"),
            })?;
        create_parent_dir(path)?;
        let partial = path.with_extension("partial");
        std::fs::write(&partial, buffer).map_err(|e| Error::io(&partial, e))?;
        std::fs::rename(&partial, path).map_err(|e| Error::io(path, e))
    }

    /// Reads a model written by [`Model::save`]; it predicts exactly as the saved one did.
    pub fn load(path: impl AsRef<Path>) -> Result<Model> {
        let path = path.as_ref();
        let buffer = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let (_, header) = SafeTensors::read_metadata(&buffer).map_err(|e| not_a_model(path, e))?;
        let info = header
            .metadata()
            .as_ref()
            .ok_or_else(|| not_a_model(path, "no metadata"))?;
        if info.get("format").map(String::as_str) != Some(FORMAT) {
            return Err(not_a_model(path, "no fashion-lab architecture in it"));
        }
        if info.get("version").map(String::as_str) != Some(VERSION) {
            return Err(not_a_model(
                path,
                format!(
                    "format version {:?}; this fashion-lab reads version {VERSION}",
                    info.get("version")
                ),
            ));
        }
        let spec: Sequential = info
            .get("architecture")
            .map(|s| serde_json::from_str(s))
            .transpose()?
            .ok_or_else(|| not_a_model(path, "no architecture"))?;
        let seed = info
            .get("seed")
            .and_then(|s| s.parse().ok())
            .unwrap_or_default();
        let mut model = spec.build(seed)?;
        // Files written before the model recorded it have no entry: the caller must say.
        model.preprocessing = info
            .get("preprocessing")
            .map(|s| serde_json::from_str(s))
            .transpose()
            .map_err(|e| not_a_model(path, format!("its preprocessing entry: {e}")))?;
        let tensors = SafeTensors::deserialize(&buffer).map_err(|e| not_a_model(path, e))?;
        let expected = model.weights().len();
        let mut weights = Vec::with_capacity(expected);
        for i in 0..expected {
            let t = tensors
                .tensor(&tensor_name(i))
                .map_err(|e| not_a_model(path, format!("weight {i}: {e}")))?;
            if t.dtype() != Dtype::F32 || t.shape().len() != 2 {
                return Err(not_a_model(
                    path,
                    format!("weight {i} is not a 2-D f32 tensor"),
                ));
            }
            let values: Vec<f32> = t
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            let w = Array2::from_shape_vec((t.shape()[0], t.shape()[1]), values)
                .map_err(|e| not_a_model(path, format!("weight {i}: {e}")))?;
            weights.push(w);
        }
        model
            .set_weights(&weights)
            .map_err(|e| not_a_model(path, e))?;
        Ok(model)
    }
}
