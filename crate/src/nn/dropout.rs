//! Layers without weights that only reshape or thin the signal: dropout and flatten.

use ndarray::Array2;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::layer::Layer;

/// Inverted dropout: in training, zero each value with probability `rate` and scale the rest by
/// 1/(1 − rate), so inference needs no rescaling.
#[derive(Clone, Debug)]
pub struct Dropout {
    pub rate: f32,
    shape: Vec<usize>,
    rng: ChaCha8Rng,
    mask: Option<Array2<f32>>,
}

impl Dropout {
    pub fn new(rate: f32, shape: Vec<usize>, rng: ChaCha8Rng) -> Self {
        Self {
            rate,
            shape,
            rng,
            mask: None,
        }
    }
}

impl Layer for Dropout {
    fn kind(&self) -> String {
        "Dropout".into()
    }

    fn output_shape(&self) -> Vec<usize> {
        self.shape.clone()
    }

    fn forward(&mut self, x: &Array2<f32>) -> Array2<f32> {
        self.forward_owned(x.clone())
    }

    fn forward_owned(&mut self, mut x: Array2<f32>) -> Array2<f32> {
        if self.rate <= 0.0 {
            self.mask = None;
            return x;
        }
        let keep = 1.0 - self.rate;
        let scale = 1.0 / keep;
        let rng = &mut self.rng;
        let mask = Array2::from_shape_simple_fn(x.raw_dim(), || {
            if rng.gen::<f32>() < keep {
                scale
            } else {
                0.0
            }
        });
        x *= &mask;
        self.mask = Some(mask);
        x
    }

    fn infer(&self, x: &Array2<f32>) -> Array2<f32> {
        x.clone()
    }

    fn backward(&mut self, grad: &Array2<f32>) -> Array2<f32> {
        self.backward_owned(grad.clone())
    }

    fn backward_owned(&mut self, mut grad: Array2<f32>) -> Array2<f32> {
        if let Some(mask) = self.mask.take() {
            grad *= &mask;
        }
        grad
    }

    fn rng(&self) -> Option<&ChaCha8Rng> {
        Some(&self.rng)
    }

    fn rng_mut(&mut self) -> Option<&mut ChaCha8Rng> {
        Some(&mut self.rng)
    }

    fn clone_box(&self) -> Box<dyn Layer> {
        Box::new(self.clone())
    }
}

/// Flatten: a no-op on our row layout, kept so summaries read like Keras'.
#[derive(Clone, Debug)]
pub struct Flatten {
    pub size: usize,
}

impl Layer for Flatten {
    fn kind(&self) -> String {
        "Flatten".into()
    }

    fn output_shape(&self) -> Vec<usize> {
        vec![self.size]
    }

    fn forward(&mut self, x: &Array2<f32>) -> Array2<f32> {
        x.clone()
    }

    fn forward_owned(&mut self, x: Array2<f32>) -> Array2<f32> {
        x
    }

    fn infer(&self, x: &Array2<f32>) -> Array2<f32> {
        x.clone()
    }

    fn backward(&mut self, grad: &Array2<f32>) -> Array2<f32> {
        grad.clone()
    }

    fn backward_owned(&mut self, grad: Array2<f32>) -> Array2<f32> {
        grad
    }

    fn clone_box(&self) -> Box<dyn Layer> {
        Box::new(self.clone())
    }
}
