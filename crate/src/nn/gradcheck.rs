//! Finite-difference checks of the hand-written gradients: report 003 derives backpropagation and
//! the softmax + cross-entropy gradient p − y by hand, and these functions let a notebook show
//! that the engine's gradients are those derivatives (central differences, (f(x+h) − f(x−h)) / 2h).

use ndarray::{Array1, Array2};
use rand::Rng;

use super::loss::softmax_cross_entropy;
use super::model::Model;
use super::sequential::LayerSpec;
use crate::base::rng;
use crate::error::{Error, Result};
use crate::prep::LabelledSet;

/// One parameter's derivative, from backpropagation and from a central difference.
#[derive(Clone, Debug, PartialEq)]
pub struct GradientCheck {
    /// Which value: layer, parameter and position, e.g. `Dense 1 weights [3, 17]`.
    pub what: String,
    pub analytic: f64,
    pub numeric: f64,
}

impl GradientCheck {
    /// |analytic − numeric|.
    pub fn abs_error(&self) -> f64 {
        (self.analytic - self.numeric).abs()
    }

    /// |analytic − numeric| / max(|analytic|, |numeric|); 0 when both are (nearly) 0.
    pub fn relative_error(&self) -> f64 {
        let scale = self.analytic.abs().max(self.numeric.abs());
        if scale < 1e-12 {
            0.0
        } else {
            self.abs_error() / scale
        }
    }
}

fn check_step(h: f32) -> Result<()> {
    if !(h.is_finite() && h > 0.0) {
        return Err(Error::invalid(format!(
            "the finite-difference step must be a positive number, got {h}"
        )));
    }
    Ok(())
}

/// The central-difference gradient of `f` at `at`, one element at a time:
/// `(f(at + h·eᵢ) − f(at − h·eᵢ)) / 2h`. `f` is called twice per element.
///
/// ```
/// use fashion_lab::nn::gradcheck::numeric_gradient;
/// use fashion_lab::Array2;
/// let at = Array2::from_shape_vec((1, 2), vec![1.0f32, -2.0]).unwrap();
/// let g = numeric_gradient(|z| z.iter().map(|&v| f64::from(v * v)).sum(), &at, 1e-2).unwrap();
/// assert!((g[[0, 0]] - 2.0).abs() < 1e-3 && (g[[0, 1]] + 4.0).abs() < 1e-3);
/// ```
pub fn numeric_gradient(
    mut f: impl FnMut(&Array2<f32>) -> f64,
    at: &Array2<f32>,
    h: f32,
) -> Result<Array2<f64>> {
    check_step(h)?;
    let mut point = at.to_owned();
    let mut out = Array2::<f64>::zeros(at.raw_dim());
    for (idx, &v) in at.indexed_iter() {
        point[idx] = v + h;
        let up = f(&point);
        point[idx] = v - h;
        let down = f(&point);
        point[idx] = v;
        out[idx] = (up - down) / (2.0 * f64::from(h));
    }
    Ok(out)
}

/// Mean softmax cross-entropy of logits, in f64 (the same formula and clipping as
/// [`softmax_cross_entropy`], without its f32 rounding of the total, which would swamp small steps).
fn loss_f64(logits: &Array2<f32>, labels: &Array1<u8>) -> f64 {
    let eps = f64::from(super::loss::LOSS_EPSILON);
    let mut total = 0.0f64;
    for (row, &label) in logits.rows().into_iter().zip(labels) {
        let max = row
            .iter()
            .fold(f64::NEG_INFINITY, |m, &v| m.max(f64::from(v)));
        let sum: f64 = row.iter().map(|&v| (f64::from(v) - max).exp()).sum();
        let p = (f64::from(row[label as usize]) - max).exp() / sum;
        total -= p.clamp(eps, 1.0 - eps).ln();
    }
    total / logits.nrows().max(1) as f64
}

/// Backpropagation against central differences for `per_param` randomly chosen values of every
/// parameter (weights and biases of each layer) of `model`, on the batch (`x`, `labels`) with the
/// mean softmax cross-entropy loss. The model is not changed (a copy is perturbed).
///
/// Both sides use the training-mode forward pass, so the model must not contain dropout (its
/// random masks would differ between the two sides); batch normalisation then uses the batch's
/// statistics on both sides. In f32 a step `h` of about 1e-2 balances rounding and curvature;
/// a ReLU kink inside ±h makes that one value disagree.
pub fn check_gradients(
    model: &Model,
    x: &Array2<f32>,
    labels: &Array1<u8>,
    per_param: usize,
    h: f32,
    seed: u64,
) -> Result<Vec<GradientCheck>> {
    check_step(h)?;
    let batch = LabelledSet::new(x.clone(), labels.clone())?;
    model.check_labelled(&batch, "batch")?;
    if model
        .spec
        .layers
        .iter()
        .any(|l| matches!(l, LayerSpec::Dropout { rate } if *rate > 0.0))
    {
        return Err(Error::invalid(
            "the gradient check needs a model without dropout: its random masks differ between \
             the backpropagated and the finite-difference passes; build the same model with rate 0",
        ));
    }
    let mut m = model.clone();
    let logits = m.forward_train(x);
    let (_, grad) = softmax_cross_entropy(&logits, labels);
    m.backward(&grad);
    // (name, parameter index among all parameters, its gradient)
    let mut targets: Vec<(String, usize, Array2<f32>)> = Vec::new();
    let mut index = 0;
    for (li, layer) in m.layers.iter().enumerate() {
        let kind = layer.kind();
        for (pi, p) in layer.params().iter().enumerate() {
            let part = match (kind.as_str(), pi) {
                ("BatchNormalization", 0) => "gamma",
                ("BatchNormalization", _) => "beta",
                (_, 0) => "weights",
                _ => "bias",
            };
            targets.push((format!("{kind} {} {part}", li + 1), index, p.grad.clone()));
            index += 1;
        }
    }
    let mut picker = rng(seed);
    let mut checks = Vec::new();
    for (name, pi, analytic) in targets {
        let (rows, cols) = analytic.dim();
        for _ in 0..per_param.min(rows * cols) {
            let (i, j) = (picker.gen_range(0..rows), picker.gen_range(0..cols));
            let mut loss_at = |delta: f32| {
                let mut params = m.params_mut();
                params[pi].value[[i, j]] += delta;
                let loss = loss_f64(&m.forward_train(x), labels);
                let mut params = m.params_mut();
                params[pi].value[[i, j]] -= delta;
                loss
            };
            let (up, down) = (loss_at(h), loss_at(-h));
            checks.push(GradientCheck {
                what: format!("{name} [{i}, {j}]"),
                analytic: f64::from(analytic[[i, j]]),
                numeric: (up - down) / (2.0 * f64::from(h)),
            });
        }
    }
    Ok(checks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{Activation, Sequential};

    #[test]
    fn softmax_cross_entropy_gradient_is_p_minus_y() {
        let logits =
            Array2::from_shape_fn((4, 5), |(i, j)| (i as f32 - 1.5) * 0.7 + j as f32 * 0.3);
        let labels = Array1::from(vec![0u8, 4, 2, 1]);
        let (_, analytic) = softmax_cross_entropy(&logits, &labels);
        let numeric = numeric_gradient(|z| loss_f64(z, &labels), &logits, 1e-2).expect("step");
        for (a, n) in analytic.iter().zip(&numeric) {
            assert!((f64::from(*a) - n).abs() < 1e-4, "{a} vs {n}");
        }
        assert!(numeric_gradient(|_| 0.0, &logits, 0.0).is_err());
    }

    #[test]
    fn backprop_agrees_and_dropout_is_refused() {
        let x = Array2::from_shape_fn((5, 6), |(i, j)| ((i * 5 + j * 3) % 7) as f32 / 7.0 - 0.3);
        let y = Array1::from(vec![0u8, 1, 2, 1, 0]);
        let model = Sequential::mlp(6, &[8, 5], Activation::Tanh, 0.0, 3)
            .build(1)
            .expect("build");
        let checks = check_gradients(&model, &x, &y, 4, 1e-2, 0).expect("check");
        // Four values of each of the six parameters; the output bias has only three.
        assert_eq!(checks.len(), 6 * 4 - 1);
        // Tiny gradients are compared in absolute terms: f32 rounding in the forward pass is
        // about 1e-6 of the loss, divided by 2h.
        for c in &checks {
            assert!(c.abs_error() < 2e-5 || c.relative_error() < 1e-2, "{c:?}");
        }
        assert!(checks.iter().any(|c| c.analytic.abs() > 1e-3));
        let with_dropout = Sequential::mlp(6, &[8], Activation::Tanh, 0.5, 3)
            .build(1)
            .expect("build");
        assert!(check_gradients(&with_dropout, &x, &y, 1, 1e-2, 0).is_err());
        assert!(check_gradients(
            &model,
            &x.slice(ndarray::s![..2, ..]).to_owned(),
            &y,
            1,
            1e-2,
            0
        )
        .is_err());
    }
}
