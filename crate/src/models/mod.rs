//! Classifiers.

pub mod centroid;

pub use centroid::NearestCentroid;
