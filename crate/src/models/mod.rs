//! Classifiers.

pub mod centroid;
pub mod knn;

pub use centroid::NearestCentroid;
pub use knn::{KnnClassifier, KnnParams, KnnWeights, LinfaIndex, NeighbourSearch, Neighbours};
