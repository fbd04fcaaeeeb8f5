//! Activation functions and their derivatives, written out (report 003 derives each by hand).

use ndarray::{Array2, Zip};

use super::simd::with_avx2;

/// An element-wise activation. Keras' names and default constants.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Activation {
    /// Identity (`linear`): the output layer's logits.
    Linear,
    Relu,
    /// `max(αx, x)`; Keras' `LeakyReLU` default α = 0.3 (report 003 uses 0.01).
    LeakyRelu(f32),
    /// `x` for x > 0, `α(eˣ − 1)` otherwise; Keras' default α = 1.
    Elu(f32),
    /// Gaussian error linear unit, tanh approximation (as Keras' `gelu(approximate=True)`).
    Gelu,
    Tanh,
    Sigmoid,
    /// `clip(0.2x + 0.5, 0, 1)` (Keras 2's definition).
    HardSigmoid,
}

const SQRT_2_OVER_PI: f32 = 0.797_884_6;

impl Activation {
    /// All activations with their default constants, for plots and tests.
    pub fn all() -> Vec<Activation> {
        vec![
            Activation::Linear,
            Activation::Relu,
            Activation::LeakyRelu(0.01),
            Activation::Elu(1.0),
            Activation::Gelu,
            Activation::Tanh,
            Activation::Sigmoid,
            Activation::HardSigmoid,
        ]
    }

    /// The Keras-style name.
    pub fn name(&self) -> String {
        match self {
            Activation::Linear => "linear".into(),
            Activation::Relu => "relu".into(),
            Activation::LeakyRelu(a) => format!("leaky_relu({a})"),
            Activation::Elu(a) if *a == 1.0 => "elu".into(),
            Activation::Elu(a) => format!("elu({a})"),
            Activation::Gelu => "gelu".into(),
            Activation::Tanh => "tanh".into(),
            Activation::Sigmoid => "sigmoid".into(),
            Activation::HardSigmoid => "hard_sigmoid".into(),
        }
    }

    /// f(z).
    #[inline]
    pub fn apply(&self, z: f32) -> f32 {
        match *self {
            Activation::Linear => z,
            Activation::Relu => z.max(0.0),
            Activation::LeakyRelu(a) => {
                if z > 0.0 {
                    z
                } else {
                    a * z
                }
            }
            Activation::Elu(a) => {
                if z > 0.0 {
                    z
                } else {
                    a * z.exp_m1()
                }
            }
            Activation::Gelu => {
                0.5 * z * (1.0 + (SQRT_2_OVER_PI * (z + 0.044_715 * z * z * z)).tanh())
            }
            Activation::Tanh => z.tanh(),
            Activation::Sigmoid => sigmoid(z),
            Activation::HardSigmoid => (0.2 * z + 0.5).clamp(0.0, 1.0),
        }
    }

    /// f'(z), from the pre-activation z.
    #[inline]
    pub fn derivative(&self, z: f32) -> f32 {
        match *self {
            Activation::Linear => 1.0,
            Activation::Relu => {
                if z > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            Activation::LeakyRelu(a) => {
                if z > 0.0 {
                    1.0
                } else {
                    a
                }
            }
            Activation::Elu(a) => {
                if z > 0.0 {
                    1.0
                } else {
                    a * z.exp()
                }
            }
            Activation::Gelu => {
                let inner = SQRT_2_OVER_PI * (z + 0.044_715 * z * z * z);
                let t = inner.tanh();
                let d_inner = SQRT_2_OVER_PI * (1.0 + 3.0 * 0.044_715 * z * z);
                0.5 * (1.0 + t) + 0.5 * z * (1.0 - t * t) * d_inner
            }
            Activation::Tanh => 1.0 - z.tanh().powi(2),
            Activation::Sigmoid => {
                let s = sigmoid(z);
                s * (1.0 - s)
            }
            Activation::HardSigmoid => {
                if (-2.5..=2.5).contains(&z) {
                    0.2
                } else {
                    0.0
                }
            }
        }
    }

    /// Over rows of `bias.len()` values: z ← z + bias and out ← f(z), in one pass (the hot loop
    /// of a convolution; ReLU gets its own loop so it vectorises).
    pub fn add_bias_apply(&self, z: &mut [f32], out: &mut [f32], bias: &[f32]) {
        #[inline(always)]
        fn run(z: &mut [f32], out: &mut [f32], bias: &[f32], f: impl Fn(f32) -> f32) {
            for (zr, or) in z
                .chunks_exact_mut(bias.len())
                .zip(out.chunks_exact_mut(bias.len()))
            {
                for ((z, o), b) in zr.iter_mut().zip(or.iter_mut()).zip(bias) {
                    *z += b;
                    *o = f(*z);
                }
            }
        }
        match *self {
            Activation::Relu => with_avx2(
                #[inline(always)]
                || run(z, out, bias, |v| v.max(0.0)),
            ),
            Activation::Linear => with_avx2(
                #[inline(always)]
                || run(z, out, bias, |v| v),
            ),
            other => run(z, out, bias, |v| other.apply(v)),
        }
    }

    /// dz ← grad ⊙ f'(z) over slices, in one pass (a convolution's backward, tile by tile;
    /// ReLU and linear get their own loops).
    pub fn gradient_into(&self, z: &[f32], grad: &[f32], dz: &mut [f32]) {
        match *self {
            Activation::Linear => dz.copy_from_slice(grad),
            Activation::Relu => with_avx2(
                #[inline(always)]
                || {
                    for ((d, &g), &z) in dz.iter_mut().zip(grad).zip(z) {
                        *d = if z > 0.0 { g } else { 0.0 };
                    }
                },
            ),
            other => {
                for ((d, &g), &z) in dz.iter_mut().zip(grad).zip(z) {
                    *d = g * other.derivative(z);
                }
            }
        }
    }

    /// z ← grad ⊙ f'(z) over slices: ∂loss/∂z written over the pre-activations, which backward
    /// no longer needs (ReLU and linear get their own loops).
    pub fn gradient_over_z(&self, z: &mut [f32], grad: &[f32]) {
        match *self {
            Activation::Linear => z.copy_from_slice(grad),
            Activation::Relu => z
                .iter_mut()
                .zip(grad)
                .for_each(|(z, &g)| *z = if *z > 0.0 { g } else { 0.0 }),
            other => z
                .iter_mut()
                .zip(grad)
                .for_each(|(z, &g)| *z = g * other.derivative(*z)),
        }
    }

    /// f applied to every element.
    pub fn forward(&self, z: &Array2<f32>) -> Array2<f32> {
        match *self {
            Activation::Linear => z.clone(),
            Activation::Relu => z.mapv(|v| v.max(0.0)),
            other => z.mapv(|v| other.apply(v)),
        }
    }

    /// grad ⊙ f'(z), in place on `grad`.
    pub fn backward_in_place(&self, z: &Array2<f32>, grad: &mut Array2<f32>) {
        if *self == Activation::Linear {
            return;
        }
        Zip::from(grad)
            .and(z)
            .for_each(|g, &z| *g *= self.derivative(z));
    }
}

fn sigmoid(z: f32) -> f32 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every derivative against a central finite difference (away from kinks).
    #[test]
    fn derivatives_match_finite_differences() {
        let h = 1e-3f64;
        for act in Activation::all() {
            for &z in &[-3.1f32, -1.2, -0.4, 0.3, 0.9, 2.2, 3.7] {
                if matches!(act, Activation::HardSigmoid) && (z.abs() - 2.5).abs() < 0.01 {
                    continue;
                }
                let f = |v: f64| f64::from(act.apply(v as f32));
                let numeric = (f(f64::from(z) + h) - f(f64::from(z) - h)) / (2.0 * h);
                let analytic = f64::from(act.derivative(z));
                assert!(
                    (numeric - analytic).abs() < 2e-3,
                    "{} at {z}: numeric {numeric}, analytic {analytic}",
                    act.name()
                );
            }
        }
    }
}
