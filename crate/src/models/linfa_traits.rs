//! linfa's `Fit` and `PredictInplace` for our params and models, on `linfa::Dataset` with labels
//! as `usize` class indices — so linfa's `cross_validate` and metrics run on them. `Fit` goes
//! through our `check()` (linfa's `ParamGuard`) and the same `fit` as `LabelledSet`s do.

use linfa::dataset::AsSingleTargets;
use linfa::traits::{Fit, PredictInplace};
use linfa::DatasetBase;
use ndarray::{Array1, ArrayBase, Data, Ix2};

use super::{
    ClassicalModel, Classifier, FittedClassical, KnnClassifier, KnnParams, LogisticClassifier,
    LogisticParams,
};
use crate::base::Checked;
use crate::error::Error;
use crate::prep::LabelledSet;

macro_rules! linfa_fit {
    ($params:ty => $model:ty) => {
        impl<D, T> Fit<ArrayBase<D, Ix2>, T, Error> for Checked<$params>
        where
            D: Data<Elem = f32>,
            T: AsSingleTargets<Elem = usize>,
        {
            type Object = $model;

            fn fit(&self, dataset: &DatasetBase<ArrayBase<D, Ix2>, T>) -> Result<$model, Error> {
                let params: &$params = self;
                params.fit(&LabelledSet::from_linfa(dataset)?)
            }
        }
    };
}

linfa_fit!(KnnParams => KnnClassifier);
linfa_fit!(LogisticParams => LogisticClassifier);
linfa_fit!(ClassicalModel => FittedClassical);

macro_rules! linfa_predict {
    ($model:ty) => {
        impl<D: Data<Elem = f32>> PredictInplace<ArrayBase<D, Ix2>, Array1<usize>> for $model {
            /// linfa's `PredictInplace` has no error path (its own models assert): rows of the
            /// wrong width or with NaN panic with our error's message. `Classifier::predict`
            /// returns that error instead.
            fn predict_inplace(&self, x: &ArrayBase<D, Ix2>, y: &mut Array1<usize>) {
                match self.predict(&x.to_owned()) {
                    Ok(p) => y.assign(&p.mapv(usize::from)),
                    Err(e) => panic!("{}: {e}", self.name()),
                }
            }

            fn default_target(&self, x: &ArrayBase<D, Ix2>) -> Array1<usize> {
                Array1::zeros(x.nrows())
            }
        }
    };
}

linfa_predict!(KnnClassifier);
linfa_predict!(LogisticClassifier);
linfa_predict!(FittedClassical);
linfa_predict!(super::NearestCentroid);
