//! Classifiers.

pub mod centroid;
pub mod classical;
pub mod knn;
pub mod logistic;

pub use centroid::NearestCentroid;
pub use classical::{ClassicalModel, ClassicalRun};
pub use knn::{KnnClassifier, KnnParams, KnnWeights, LinfaIndex, NeighbourSearch, Neighbours};
pub use logistic::{LogisticClassifier, LogisticParams};
