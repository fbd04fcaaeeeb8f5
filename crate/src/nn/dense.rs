//! The fully connected layer.

use ndarray::{Array2, Axis, CowArray, Zip};
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

    /// z = xW + b: the product is added onto rows of the bias, split across the cores.
    fn affine(&self, x: &Array2<f32>) -> Array2<f32> {
        let units = self.weight.value.ncols();
        let mut z = self
            .bias
            .value
            .broadcast((x.nrows(), units))
            .expect("the bias is one row of the layer's width")
            .to_owned();
        parallel::product(&x.view(), &self.weight.value.view(), z.view_mut(), true);
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
        self.forward_owned(x.clone())
    }

    fn forward_owned(&mut self, x: Array2<f32>) -> Array2<f32> {
        let z = self.affine(&x);
        let out = self.activation.forward(&z);
        self.input = Some(x);
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
        // ∂loss/∂z: the gradient itself for a linear layer, else grad ⊙ f'(z) in z's buffer.
        let dz = if self.activation == Activation::Linear {
            CowArray::from(grad.view())
        } else {
            let mut dz = z;
            match (dz.as_slice_mut(), grad.as_slice()) {
                (Some(dz), Some(grad)) => self.activation.gradient_over_z(dz, grad),
                _ => Zip::from(&mut dz)
                    .and(grad)
                    .for_each(|z, &g| *z = g * self.activation.derivative(*z)),
            }
            CowArray::from(dz)
        };
        parallel::product(&x.t(), &dz.view(), self.weight.grad.view_mut(), false);
        self.bias.grad = dz.sum_axis(Axis(0)).insert_axis(Axis(0));
        if !self.input_grad {
            return Array2::zeros((dz.nrows(), 0));
        }
        let mut dx = Array2::zeros((dz.nrows(), self.weight.value.nrows()));
        parallel::product(&dz.view(), &self.weight.value.t(), dx.view_mut(), false);
        dx
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
