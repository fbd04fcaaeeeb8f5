//! Batch normalisation over the last axis (the channels of NHWC images, the units of a dense
//! layer), as Keras' `BatchNormalization()`: batch statistics in training, moving statistics in
//! inference, moving averages with momentum 0.99, ε = 0.001.

use ndarray::{Array2, Axis, Zip};

use super::layers::{Layer, Param};

#[derive(Clone, Debug)]
pub struct BatchNorm {
    pub gamma: Param,
    pub beta: Param,
    pub moving_mean: Array2<f32>,
    pub moving_var: Array2<f32>,
    pub momentum: f32,
    pub epsilon: f32,
    shape: Vec<usize>,
    /// Normalised input and 1/σ of the last training batch, for backward.
    saved: Option<(Array2<f32>, Array2<f32>)>,
}

impl BatchNorm {
    pub fn new(shape: Vec<usize>, momentum: f32, epsilon: f32) -> Self {
        let channels = shape.last().copied().unwrap_or(1);
        Self {
            gamma: Param::new(Array2::ones((1, channels)), false),
            beta: Param::new(Array2::zeros((1, channels)), false),
            moving_mean: Array2::zeros((1, channels)),
            moving_var: Array2::ones((1, channels)),
            momentum,
            epsilon,
            shape,
            saved: None,
        }
    }

    fn channels(&self) -> usize {
        self.gamma.value.ncols()
    }

    /// The batch as (samples × pixels) rows of channels.
    fn as_channel_rows(&self, x: &Array2<f32>) -> Array2<f32> {
        let c = self.channels();
        x.to_owned()
            .into_shape_with_order((x.len() / c, c))
            .expect("NHWC rows split into channel rows")
    }

    fn to_sample_rows(&self, y: Array2<f32>, n: usize) -> Array2<f32> {
        let len = y.len() / n.max(1);
        y.into_shape_with_order((n, len))
            .expect("channel rows join into sample rows")
    }
}

impl Layer for BatchNorm {
    fn kind(&self) -> String {
        "BatchNormalization".into()
    }

    fn output_shape(&self) -> Vec<usize> {
        self.shape.clone()
    }

    fn forward(&mut self, x: &Array2<f32>, training: bool) -> Array2<f32> {
        if !training {
            return self.infer(x);
        }
        let n = x.nrows();
        let mut y = self.as_channel_rows(x);
        let m = y.nrows().max(1) as f32;
        let mean = y.sum_axis(Axis(0)).insert_axis(Axis(0)) / m;
        y -= &mean;
        let var = y.mapv(|v| v * v).sum_axis(Axis(0)).insert_axis(Axis(0)) / m;
        let inv_std = var.mapv(|v| 1.0 / (v + self.epsilon).sqrt());
        y *= &inv_std;
        let xhat = y.clone();
        y *= &self.gamma.value;
        y += &self.beta.value;
        let keep = self.momentum;
        Zip::from(&mut self.moving_mean)
            .and(&mean)
            .for_each(|mm, &b| *mm = *mm * keep + b * (1.0 - keep));
        Zip::from(&mut self.moving_var)
            .and(&var)
            .for_each(|mv, &b| *mv = *mv * keep + b * (1.0 - keep));
        self.saved = Some((xhat, inv_std));
        self.to_sample_rows(y, n)
    }

    fn infer(&self, x: &Array2<f32>) -> Array2<f32> {
        let n = x.nrows();
        let mut y = self.as_channel_rows(x);
        let scale = &self.gamma.value / &self.moving_var.mapv(|v| (v + self.epsilon).sqrt());
        let shift = &self.beta.value - &(&self.moving_mean * &scale);
        y *= &scale;
        y += &shift;
        self.to_sample_rows(y, n)
    }

    fn backward(&mut self, grad: &Array2<f32>) -> Array2<f32> {
        let n = grad.nrows();
        let Some((xhat, inv_std)) = self.saved.take() else {
            return grad.clone();
        };
        let dy = self.as_channel_rows(grad);
        let m = dy.nrows().max(1) as f32;
        self.beta.grad = dy.sum_axis(Axis(0)).insert_axis(Axis(0));
        self.gamma.grad = (&dy * &xhat).sum_axis(Axis(0)).insert_axis(Axis(0));
        // dx = γ/σ · (dy − mean(dy) − x̂ · mean(dy · x̂))
        let mean_dy = &self.beta.grad / m;
        let mean_dy_xhat = &self.gamma.grad / m;
        let scale = &self.gamma.value * &inv_std;
        let mut dx = dy;
        Zip::from(dx.rows_mut())
            .and(xhat.rows())
            .for_each(|mut d, xh| {
                Zip::from(&mut d)
                    .and(&xh)
                    .and(mean_dy.row(0))
                    .and(mean_dy_xhat.row(0))
                    .and(scale.row(0))
                    .for_each(|d, &xh, &mdy, &mdx, &s| *d = s * (*d - mdy - xh * mdx));
            });
        self.to_sample_rows(dx, n)
    }

    fn params(&self) -> Vec<&Param> {
        vec![&self.gamma, &self.beta]
    }

    fn params_mut(&mut self) -> Vec<&mut Param> {
        vec![&mut self.gamma, &mut self.beta]
    }

    fn buffers(&self) -> Vec<&Array2<f32>> {
        vec![&self.moving_mean, &self.moving_var]
    }

    fn buffers_mut(&mut self) -> Vec<&mut Array2<f32>> {
        vec![&mut self.moving_mean, &mut self.moving_var]
    }

    fn clone_box(&self) -> Box<dyn Layer> {
        Box::new(self.clone())
    }
}
