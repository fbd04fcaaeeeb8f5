//! The models the server can use: the `*.safetensors` files of one folder (the model picker) and
//! a default one. A request names a model by its file name only, checked to stay in the folder;
//! each model is loaded once and loaded again when its file changes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use crate::error::{Error, Result};
use crate::nn::Model;

/// The extension of a saved model ([`Model::save`]).
const EXTENSION: &str = "safetensors";

/// One model the picker lists.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ModelEntry {
    /// The file name, which a request passes as `?model=`; empty for a default model outside
    /// the folder (a request then names no model).
    pub name: String,
    /// The file as the server reads it.
    pub path: PathBuf,
    pub bytes: u64,
    /// The model used when a request names none.
    pub default: bool,
}

struct Loaded {
    /// Modification time and length when it was read: a change means reading it again.
    stamp: (Option<SystemTime>, u64),
    model: Arc<Model>,
}

/// The models folder, the default model and the models read so far.
pub struct ModelStore {
    dir: PathBuf,
    default: PathBuf,
    loaded: Mutex<HashMap<PathBuf, Loaded>>,
}

impl ModelStore {
    /// `default` is a file name in `dir` when it has no folder part, else a path of its own.
    pub fn new(dir: PathBuf, default: &Path) -> ModelStore {
        let bare = default.parent().is_some_and(|p| p.as_os_str().is_empty());
        let default = if bare {
            dir.join(default)
        } else {
            default.to_path_buf()
        };
        ModelStore {
            dir,
            default,
            loaded: Mutex::new(HashMap::new()),
        }
    }

    /// The folder the picker lists.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file used when a request names no model.
    pub fn default_path(&self) -> &Path {
        &self.default
    }

    /// The file a request's `?model=` names: the default when absent or empty, else a plain file
    /// name in the models folder (no folder part, not hidden, ending in `.safetensors`).
    pub fn path_of(&self, name: Option<&str>) -> Result<PathBuf> {
        let Some(name) = name.filter(|n| !n.is_empty()) else {
            return Ok(self.default.clone());
        };
        let plain = name.len() <= 255
            && !name.starts_with('.')
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+'))
            && Path::new(name).extension().is_some_and(|e| e == EXTENSION);
        if !plain {
            return Err(Error::param(
                "model",
                format!(
                    "`{name}` is not the name of a model in {}: give a file name that \
                     GET /api/models lists (letters, digits, `._-+`, ending in .{EXTENSION}), \
                     not a path",
                    self.dir.display()
                ),
            ));
        }
        Ok(self.dir.join(name))
    }

    /// The model a request names (see [`ModelStore::path_of`]), read from its file the first
    /// time and whenever the file changed. It must be able to classify pictures.
    pub fn get(&self, name: Option<&str>) -> Result<(PathBuf, Arc<Model>)> {
        let path = self.path_of(name)?;
        let meta = match std::fs::metadata(&path) {
            Ok(meta) if meta.is_file() => meta,
            _ => return Err(Error::NoModel { path }),
        };
        let stamp = (meta.modified().ok(), meta.len());
        if let Some(hit) = self.lock().get(&path).filter(|l| l.stamp == stamp) {
            return Ok((path, Arc::clone(&hit.model)));
        }
        // Read without holding the lock: two requests may both read a new file, which is harmless.
        let model = Model::load(&path)?;
        model
            .check_classifies_pictures()
            .map_err(|e| Error::ModelFile {
                path: path.clone(),
                reason: format!("it cannot classify pictures: {e}"),
            })?;
        let model = Arc::new(model);
        self.lock().insert(
            path.clone(),
            Loaded {
                stamp,
                model: Arc::clone(&model),
            },
        );
        Ok((path, model))
    }

    /// The saved models of the folder by name, the default one first when it lies elsewhere.
    /// A missing folder lists none.
    pub fn list(&self) -> Vec<ModelEntry> {
        let mut entries: Vec<ModelEntry> = std::fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .filter_map(|entry| entry.ok())
            .filter_map(|entry| {
                let name = entry.file_name().into_string().ok()?;
                let path = self.path_of(Some(&name)).ok()?;
                let meta = entry.metadata().ok().filter(|m| m.is_file())?;
                Some(ModelEntry {
                    default: path == self.default,
                    name,
                    path,
                    bytes: meta.len(),
                })
            })
            .collect();
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        if !entries.iter().any(|e| e.default) {
            if let Ok(meta) = std::fs::metadata(&self.default) {
                entries.insert(
                    0,
                    ModelEntry {
                        name: String::new(),
                        path: self.default.clone(),
                        bytes: meta.len(),
                        default: true,
                    },
                );
            }
        }
        entries
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<PathBuf, Loaded>> {
        // A panic while holding it leaves a valid map (inserts are single calls): go on.
        self.loaded
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_stay_inside_the_models_folder() {
        let store = ModelStore::new(
            PathBuf::from("models"),
            Path::new("02-deep-cnn.safetensors"),
        );
        assert_eq!(
            store.default_path(),
            Path::new("models/02-deep-cnn.safetensors")
        );
        assert_eq!(store.path_of(None).ok(), Some(store.default.clone()));
        assert_eq!(store.path_of(Some("")).ok(), Some(store.default.clone()));
        assert_eq!(
            store.path_of(Some("cnn-v2.safetensors")).ok(),
            Some(PathBuf::from("models/cnn-v2.safetensors"))
        );
        for bad in [
            "../secret.safetensors",
            "/etc/passwd",
            "a/b.safetensors",
            ".hidden.safetensors",
            "..",
            "model.json",
            "x\\y.safetensors",
            "name with space.safetensors",
        ] {
            let err = store.path_of(Some(bad)).expect_err(bad);
            assert!(
                matches!(err, Error::InvalidParameter { param: "model", .. }),
                "{bad}: {err}"
            );
        }
        let elsewhere = ModelStore::new(PathBuf::from("models"), Path::new("/tmp/m.safetensors"));
        assert_eq!(elsewhere.default_path(), Path::new("/tmp/m.safetensors"));
    }

    #[test]
    fn a_missing_model_says_how_to_make_one() {
        let store = ModelStore::new(
            PathBuf::from("no/such/folder"),
            Path::new(super::super::DEFAULT_MODEL),
        );
        assert!(store.list().is_empty());
        let err = store.get(None).expect_err("no model");
        assert!(matches!(err, Error::NoModel { .. }), "{err}");
        assert!(err.to_string().contains("02-logistic-vs-deep-cnn"), "{err}");
    }
}
