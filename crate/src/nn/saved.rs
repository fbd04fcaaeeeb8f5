//! A trained model in one file: every weight as a safetensors tensor (readable from Python with
//! `safetensors.numpy.load_file`), the architecture as JSON in the file's metadata.

use std::collections::HashMap;
use std::path::Path;

use ndarray::Array2;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use super::conv::{Geometry, Padding};
use super::init::Initializer;
use super::model::Model;
use super::sequential::{LayerSpec, Sequential};
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
        Model::load_from_bytes(&buffer, path)
    }

    /// [`Model::load`] on a file's contents already in memory; `path` only names it in errors.
    pub fn load_from_bytes(buffer: &[u8], path: impl AsRef<Path>) -> Result<Model> {
        let path = path.as_ref();
        let (_, header) = SafeTensors::read_metadata(buffer).map_err(|e| not_a_model(path, e))?;
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
            .transpose()
            .map_err(|e| not_a_model(path, format!("its architecture is unreadable: {e}")))?
            .ok_or_else(|| not_a_model(path, "no architecture"))?;
        let seed = info
            .get("seed")
            .and_then(|s| s.parse().ok())
            .unwrap_or_default();
        // Every weight the architecture needs must be in the file: check before building, so that
        // a damaged architecture cannot make the reader allocate (or overflow) without bound.
        let needed = weights_needed(&spec)
            .ok_or_else(|| not_a_model(path, "its architecture's sizes overflow"))?;
        if needed > buffer.len() / 4 {
            return Err(not_a_model(
                path,
                format!(
                    "its architecture needs {needed} weights but the file has room for at most {}",
                    buffer.len() / 4
                ),
            ));
        }
        // Built with zero weights (they are all replaced below; nor can a damaged initialiser's
        // constant, such as a negative uniform limit, stop the build), then given back the saved
        // definition.
        let mut model = zero_initialised(&spec)
            .build(seed)
            .map_err(|e| not_a_model(path, format!("its architecture cannot be built: {e}")))?;
        model.spec = spec;
        // Files written before the model recorded it have no entry: the caller must say.
        model.preprocessing = info
            .get("preprocessing")
            .map(|s| serde_json::from_str(s))
            .transpose()
            .map_err(|e| not_a_model(path, format!("its preprocessing entry: {e}")))?;
        let tensors = SafeTensors::deserialize(buffer).map_err(|e| not_a_model(path, e))?;
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

/// `spec` with every initialiser set to zeros.
fn zero_initialised(spec: &Sequential) -> Sequential {
    let mut spec = spec.clone();
    for layer in &mut spec.layers {
        if let LayerSpec::Dense { init, .. } | LayerSpec::Conv2d { init, .. } = layer {
            *init = Initializer::Zeros;
        }
    }
    spec
}

/// How many f32 values a model built from `spec` holds (its weights and batch-norm statistics),
/// following [`Sequential::build`]'s shapes; `None` when a size overflows. The walk stops at the
/// first layer `build` rejects, since nothing after it is allocated.
fn weights_needed(spec: &Sequential) -> Option<usize> {
    let image = |shape: &[usize]| match *shape {
        [h, w] => Some((h, w, 1)),
        [h, w, c] => Some((h, w, c)),
        _ => None,
    };
    let mut shape = spec.input_shape.clone();
    let mut total = 0usize;
    for layer in &spec.layers {
        let size = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d))?;
        let (weights, next) = match *layer {
            LayerSpec::Flatten => (0, vec![size]),
            LayerSpec::Dropout { .. } => (0, shape),
            LayerSpec::BatchNorm { .. } => {
                (shape.last().copied().unwrap_or(1).checked_mul(4)?, shape)
            }
            LayerSpec::Dense { units, .. } => {
                if units == 0 || shape.len() != 1 {
                    break;
                }
                (size.checked_mul(units)?.checked_add(units)?, vec![units])
            }
            LayerSpec::Conv2d {
                filters,
                kernel,
                stride,
                padding,
                ..
            } => {
                let Some(g) =
                    image(&shape).and_then(|hwc| Geometry::new(hwc, kernel, stride, padding).ok())
                else {
                    break;
                };
                let patch = kernel.checked_mul(kernel)?.checked_mul(g.c)?;
                let kernel_and_bias = patch.checked_mul(filters)?.checked_add(filters)?;
                (kernel_and_bias, vec![g.out_h, g.out_w, filters])
            }
            LayerSpec::MaxPool2d { size: k, stride } | LayerSpec::AvgPool2d { size: k, stride } => {
                let Some(g) = image(&shape)
                    .and_then(|hwc| Geometry::new(hwc, k, stride, Padding::Valid).ok())
                else {
                    break;
                };
                (0, vec![g.out_h, g.out_w, g.c])
            }
            LayerSpec::GlobalAvgPool2d => {
                let Some((h, w, c)) = image(&shape) else {
                    break;
                };
                h.checked_mul(w)?;
                (0, vec![c])
            }
        };
        total = total.checked_add(weights)?;
        shape = next;
    }
    Some(total)
}
