//! Weight initialisers, with Keras' definitions (fan_in / fan_out of the weight matrix).

use ndarray::Array2;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// How a layer's weights start.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Initializer {
    /// N(0, 2/fan_in), truncated at 2σ (Keras `he_normal`).
    HeNormal,
    /// U(±√(6/fan_in)) (Keras `he_uniform`).
    HeUniform,
    /// N(0, 2/(fan_in+fan_out)), truncated at 2σ (Keras `glorot_normal`, "Xavier").
    GlorotNormal,
    /// U(±√(6/(fan_in+fan_out))) (Keras' default `glorot_uniform`).
    GlorotUniform,
    /// N(0, 1/fan_in), truncated at 2σ (Keras `lecun_normal`).
    LecunNormal,
    /// U(±√(3/fan_in)).
    LecunUniform,
    /// N(0, σ²); Keras' `random_normal` has σ = 0.05.
    RandomNormal(f32),
    /// U(±limit); Keras' `random_uniform` has limit 0.05.
    RandomUniform(f32),
    /// All zeros (every unit stays the same: the network cannot learn, as report 004 shows).
    Zeros,
}

impl Initializer {
    pub fn name(&self) -> String {
        match self {
            Initializer::HeNormal => "he_normal".into(),
            Initializer::HeUniform => "he_uniform".into(),
            Initializer::GlorotNormal => "glorot_normal".into(),
            Initializer::GlorotUniform => "glorot_uniform".into(),
            Initializer::LecunNormal => "lecun_normal".into(),
            Initializer::LecunUniform => "lecun_uniform".into(),
            Initializer::RandomNormal(s) => format!("random_normal({s})"),
            Initializer::RandomUniform(l) => format!("random_uniform({l})"),
            Initializer::Zeros => "zeros".into(),
        }
    }

    /// A `rows × cols` weight matrix with the given fans.
    pub fn sample(
        &self,
        rows: usize,
        cols: usize,
        fan_in: usize,
        fan_out: usize,
        rng: &mut ChaCha8Rng,
    ) -> Array2<f32> {
        let (fi, fo) = (fan_in.max(1) as f32, fan_out.max(1) as f32);
        match *self {
            Initializer::HeNormal => truncated(rows, cols, (2.0 / fi).sqrt(), rng),
            Initializer::GlorotNormal => truncated(rows, cols, (2.0 / (fi + fo)).sqrt(), rng),
            Initializer::LecunNormal => truncated(rows, cols, (1.0 / fi).sqrt(), rng),
            Initializer::HeUniform => uniform(rows, cols, (6.0 / fi).sqrt(), rng),
            Initializer::GlorotUniform => uniform(rows, cols, (6.0 / (fi + fo)).sqrt(), rng),
            Initializer::LecunUniform => uniform(rows, cols, (3.0 / fi).sqrt(), rng),
            Initializer::RandomNormal(std) => {
                Array2::from_shape_simple_fn((rows, cols), || std * normal(rng))
            }
            Initializer::RandomUniform(limit) => uniform(rows, cols, limit, rng),
            Initializer::Zeros => Array2::zeros((rows, cols)),
        }
    }
}

/// A standard normal sample (Box–Muller).
pub(crate) fn normal(rng: &mut ChaCha8Rng) -> f32 {
    let u1: f32 = rng.gen_range(f32::EPSILON..1.0);
    let u2: f32 = rng.gen();
    (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
}

fn uniform(rows: usize, cols: usize, limit: f32, rng: &mut ChaCha8Rng) -> Array2<f32> {
    Array2::from_shape_simple_fn((rows, cols), || rng.gen_range(-limit..=limit))
}

/// Keras' truncated normal: resample beyond 2σ, scaled so the result has standard deviation `std`.
fn truncated(rows: usize, cols: usize, std: f32, rng: &mut ChaCha8Rng) -> Array2<f32> {
    let scale = std / 0.879_625_7;
    Array2::from_shape_simple_fn((rows, cols), || loop {
        let z = normal(rng);
        if z.abs() <= 2.0 {
            return z * scale;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::rng;

    #[test]
    fn scales_match_their_definitions() {
        let mut r = rng(0);
        let std = |w: &Array2<f32>| (w.mapv(|v| v * v).mean().unwrap_or(0.0)).sqrt();
        let he = Initializer::HeNormal.sample(784, 256, 784, 256, &mut r);
        assert!(
            (std(&he) - (2.0f32 / 784.0).sqrt()).abs() < 0.003,
            "{}",
            std(&he)
        );
        let glorot = Initializer::GlorotUniform.sample(784, 256, 784, 256, &mut r);
        let limit = (6.0f32 / 1040.0).sqrt();
        assert!(glorot.iter().all(|v| v.abs() <= limit));
        assert!((std(&glorot) - limit / 3f32.sqrt()).abs() < 0.002);
        assert!(Initializer::Zeros
            .sample(3, 3, 3, 3, &mut r)
            .iter()
            .all(|&v| v == 0.0));
    }
}
