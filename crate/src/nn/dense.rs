//! The fully connected layer.

use ndarray::{Array2, Axis};
use rand_chacha::ChaCha8Rng;

use super::activation::Activation;
use super::init::Initializer;
use super::layer::{Layer, Param};
use super::parallel;

/// Fully connected: y = f(xW + b).
#[derive(Clone, Debug)]
pub struct Dense {
    pub weight: Param,
    pub bias: Param,
    pub activation: Activation,
    /// False for the first layer: nothing needs ∂loss/∂input there, so it is not computed.
    pub input_grad: bool,
    input: Option<Array2<f32>>,
    pre_activation: Option<Array2<f32>>,
}

impl Dense {
    pub fn new(
        inputs: usize,
        units: usize,
        activation: Activation,
        init: Initializer,
        rng: &mut ChaCha8Rng,
    ) -> Self {
        Self {
            weight: Param::new(init.sample(inputs, units, inputs, units, rng), true),
            bias: Param::new(Array2::zeros((1, units)), false),
            activation,
            input_grad: true,
            input: None,
            pre_activation: None,
        }
    }

    fn affine(&self, x: &Array2<f32>) -> Array2<f32> {
        let mut z = parallel::dot(&x.view(), &self.weight.value.view());
        z += &self.bias.value;
        z
    }
}

impl Layer for Dense {
    fn kind(&self) -> String {
        "Dense".into()
    }

    fn output_shape(&self) -> Vec<usize> {
        vec![self.weight.value.ncols()]
    }

    fn forward(&mut self, x: &Array2<f32>) -> Array2<f32> {
        let z = self.affine(x);
        let out = self.activation.forward(&z);
        self.input = Some(x.clone());
        self.pre_activation = Some(z);
        out
    }

    fn infer(&self, x: &Array2<f32>) -> Array2<f32> {
        self.activation.forward(&self.affine(x))
    }

    fn backward(&mut self, grad: &Array2<f32>) -> Array2<f32> {
        let (Some(x), Some(z)) = (self.input.take(), self.pre_activation.take()) else {
            // forward always precedes backward in the training loop.
            return Array2::zeros((grad.nrows(), self.weight.value.nrows()));
        };
        let mut g = grad.clone();
        self.activation.backward_in_place(&z, &mut g);
        self.weight.grad = parallel::t_dot(&x.view(), &g.view());
        self.bias.grad = g.sum_axis(Axis(0)).insert_axis(Axis(0));
        if !self.input_grad {
            return Array2::zeros((g.nrows(), 0));
        }
        parallel::dot(&g.view(), &self.weight.value.t())
    }

    fn params(&self) -> Vec<&Param> {
        vec![&self.weight, &self.bias]
    }

    fn params_mut(&mut self) -> Vec<&mut Param> {
        vec![&mut self.weight, &mut self.bias]
    }

    fn clone_box(&self) -> Box<dyn Layer> {
        Box::new(self.clone())
    }
}
