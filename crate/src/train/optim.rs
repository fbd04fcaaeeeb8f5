//! Optimisers with Keras' default hyperparameters.

use ndarray::{Array2, Zip};

use crate::error::{Error, Result};
use crate::nn::Param;

/// An optimiser and its hyperparameters (`Optimizer::adam()` etc. give Keras' defaults).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Optimizer {
    /// Keras `SGD`: lr 0.01, no momentum.
    Sgd {
        lr: f32,
        momentum: f32,
        nesterov: bool,
    },
    /// Keras `Adam`: lr 0.001, β₁ 0.9, β₂ 0.999, ε 1e-7.
    Adam {
        lr: f32,
        beta1: f32,
        beta2: f32,
        epsilon: f32,
    },
    /// Keras `RMSprop`: lr 0.001, ρ 0.9, ε 1e-7.
    RmsProp { lr: f32, rho: f32, epsilon: f32 },
    /// Keras `Adadelta`: lr 0.001, ρ 0.95, ε 1e-7.
    Adadelta { lr: f32, rho: f32, epsilon: f32 },
    /// Keras `Adagrad`: lr 0.001, initial accumulator 0.1, ε 1e-7.
    Adagrad {
        lr: f32,
        initial_accumulator: f32,
        epsilon: f32,
    },
}

impl Optimizer {
    pub fn sgd() -> Self {
        Optimizer::Sgd {
            lr: 0.01,
            momentum: 0.0,
            nesterov: false,
        }
    }
    pub fn adam() -> Self {
        Optimizer::Adam {
            lr: 0.001,
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-7,
        }
    }
    /// scikit-learn's `MLPClassifier` Adam: ε = 1e-8 and the given initial learning rate.
    pub fn sklearn_adam(lr: f32) -> Self {
        Optimizer::Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
        }
    }
    pub fn rmsprop() -> Self {
        Optimizer::RmsProp {
            lr: 0.001,
            rho: 0.9,
            epsilon: 1e-7,
        }
    }
    pub fn adadelta() -> Self {
        Optimizer::Adadelta {
            lr: 0.001,
            rho: 0.95,
            epsilon: 1e-7,
        }
    }
    pub fn adagrad() -> Self {
        Optimizer::Adagrad {
            lr: 0.001,
            initial_accumulator: 0.1,
            epsilon: 1e-7,
        }
    }

    /// The same optimiser with another learning rate.
    pub fn with_lr(self, lr: f32) -> Self {
        match self {
            Optimizer::Sgd {
                momentum, nesterov, ..
            } => Optimizer::Sgd {
                lr,
                momentum,
                nesterov,
            },
            Optimizer::Adam {
                beta1,
                beta2,
                epsilon,
                ..
            } => Optimizer::Adam {
                lr,
                beta1,
                beta2,
                epsilon,
            },
            Optimizer::RmsProp { rho, epsilon, .. } => Optimizer::RmsProp { lr, rho, epsilon },
            Optimizer::Adadelta { rho, epsilon, .. } => Optimizer::Adadelta { lr, rho, epsilon },
            Optimizer::Adagrad {
                initial_accumulator,
                epsilon,
                ..
            } => Optimizer::Adagrad {
                lr,
                initial_accumulator,
                epsilon,
            },
        }
    }

    pub fn lr(&self) -> f32 {
        match *self {
            Optimizer::Sgd { lr, .. }
            | Optimizer::Adam { lr, .. }
            | Optimizer::RmsProp { lr, .. }
            | Optimizer::Adadelta { lr, .. }
            | Optimizer::Adagrad { lr, .. } => lr,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Optimizer::Sgd { .. } => "SGD",
            Optimizer::Adam { .. } => "Adam",
            Optimizer::RmsProp { .. } => "RMSprop",
            Optimizer::Adadelta { .. } => "Adadelta",
            Optimizer::Adagrad { .. } => "Adagrad",
        }
    }

    fn rules(&self) -> Result<()> {
        let lr = self.lr();
        if !(lr.is_finite() && lr > 0.0) {
            return Err(Error::param(
                "lr",
                format!("the learning rate must be a positive number, got {lr}"),
            ));
        }
        let ok = match *self {
            Optimizer::Sgd { momentum, .. } => (0.0..1.0).contains(&momentum),
            Optimizer::Adam {
                beta1,
                beta2,
                epsilon,
                ..
            } => (0.0..1.0).contains(&beta1) && (0.0..1.0).contains(&beta2) && epsilon > 0.0,
            Optimizer::RmsProp { rho, epsilon, .. } | Optimizer::Adadelta { rho, epsilon, .. } => {
                (0.0..1.0).contains(&rho) && epsilon > 0.0
            }
            Optimizer::Adagrad {
                initial_accumulator,
                epsilon,
                ..
            } => initial_accumulator >= 0.0 && epsilon > 0.0,
        };
        if ok {
            Ok(())
        } else {
            Err(Error::param(
                "optimizer",
                format!("{self:?}: momentum/β/ρ must be in [0, 1) and ε > 0"),
            ))
        }
    }

    pub fn start(self) -> OptimizerState {
        OptimizerState {
            optimizer: self,
            step: 0,
            slots: Vec::new(),
        }
    }
}

crate::param_guard!(Optimizer);

/// The two accumulators of one parameter (their meaning depends on the optimiser).
pub(crate) type Slots = (Array2<f32>, Array2<f32>);

/// An optimiser's running state: per parameter, two accumulators (their meaning depends on the
/// optimiser), created on the first step.
#[derive(Clone, Debug)]
pub struct OptimizerState {
    pub optimizer: Optimizer,
    step: i32,
    slots: Vec<Slots>,
}

impl OptimizerState {
    /// The steps taken and every accumulator pair, for a checkpoint.
    pub(crate) fn parts(&self) -> (i32, &[Slots]) {
        (self.step, &self.slots)
    }

    /// The state a checkpoint recorded with [`OptimizerState::parts`].
    pub(crate) fn resumed(optimizer: Optimizer, step: i32, slots: Vec<Slots>) -> Self {
        Self {
            optimizer,
            step,
            slots,
        }
    }

    /// The accumulators of every parameter (Adam's m and v, RMSprop's mean square, …), empty
    /// before the first step: for diagnostics such as counting subnormal values.
    pub fn accumulators(&self) -> impl Iterator<Item = &Array2<f32>> {
        self.slots.iter().flat_map(|(a, b)| [a, b])
    }

    /// One update of every parameter from its gradient. `l2` adds l2·w to weights' gradients
    /// (scikit-learn's `alpha` with the batch size already divided in).
    pub fn update(&mut self, params: &mut [&mut Param], l2: f32) {
        if self.slots.len() != params.len() {
            self.slots = params
                .iter()
                .map(|p| {
                    let init = match self.optimizer {
                        Optimizer::Adagrad {
                            initial_accumulator,
                            ..
                        } => initial_accumulator,
                        _ => 0.0,
                    };
                    (
                        Array2::from_elem(p.value.raw_dim(), init),
                        Array2::zeros(p.value.raw_dim()),
                    )
                })
                .collect();
        }
        self.step += 1;
        let t = self.step;
        for (p, (s1, s2)) in params.iter_mut().zip(self.slots.iter_mut()) {
            let decay = if p.decay { l2 } else { 0.0 };
            let Param { value, grad, .. } = &mut **p;
            if let Optimizer::Adam {
                lr,
                beta1,
                beta2,
                epsilon,
            } = self.optimizer
            {
                let step = AdamStep {
                    lr_t: lr * (1.0 - beta2.powi(t)).sqrt() / (1.0 - beta1.powi(t)),
                    beta1,
                    beta2,
                    epsilon,
                    decay,
                };
                if let (Some(w), Some(g), Some(m), Some(v)) = (
                    value.as_slice_mut(),
                    grad.as_slice(),
                    s1.as_slice_mut(),
                    s2.as_slice_mut(),
                ) {
                    step.apply_slices(w, g, m, v);
                    continue;
                }
            }
            let zip = Zip::from(value).and(&*grad).and(s1).and(s2);
            match self.optimizer {
                Optimizer::Sgd {
                    lr,
                    momentum,
                    nesterov,
                } => zip.for_each(|w, &g, v, _| {
                    let g = g + decay * *w;
                    if momentum == 0.0 {
                        *w -= lr * g;
                    } else {
                        *v = momentum * *v - lr * g;
                        *w += if nesterov { momentum * *v - lr * g } else { *v };
                    }
                }),
                Optimizer::Adam {
                    lr,
                    beta1,
                    beta2,
                    epsilon,
                } => {
                    // Keras: lr_t = lr·√(1−β₂ᵗ)/(1−β₁ᵗ), ε added to √v̂ as written there.
                    let step = AdamStep {
                        lr_t: lr * (1.0 - beta2.powi(t)).sqrt() / (1.0 - beta1.powi(t)),
                        beta1,
                        beta2,
                        epsilon,
                        decay,
                    };
                    zip.for_each(|w, &g, m, v| step.apply(w, g, m, v))
                }
                Optimizer::RmsProp { lr, rho, epsilon } => zip.for_each(|w, &g, a, _| {
                    let g = g + decay * *w;
                    *a = rho * *a + (1.0 - rho) * g * g;
                    *w -= lr * g / (a.sqrt() + epsilon);
                }),
                Optimizer::Adadelta { lr, rho, epsilon } => zip.for_each(|w, &g, a, d| {
                    let g = g + decay * *w;
                    *a = rho * *a + (1.0 - rho) * g * g;
                    let update = g * (*d + epsilon).sqrt() / (*a + epsilon).sqrt();
                    *d = rho * *d + (1.0 - rho) * update * update;
                    *w -= lr * update;
                }),
                Optimizer::Adagrad { lr, epsilon, .. } => zip.for_each(|w, &g, a, _| {
                    let g = g + decay * *w;
                    *a += g * g;
                    *w -= lr * g / (a.sqrt() + epsilon);
                }),
            }
        }
    }
}

/// One Adam update with its constants for this step (Keras: lr_t = lr·√(1−β₂ᵗ)/(1−β₁ᵗ), ε added
/// to √v as written there).
#[derive(Clone, Copy)]
struct AdamStep {
    lr_t: f32,
    beta1: f32,
    beta2: f32,
    epsilon: f32,
    /// The L2 penalty's factor on this parameter's weights.
    decay: f32,
}

impl AdamStep {
    #[inline(always)]
    fn apply(&self, w: &mut f32, g: f32, m: &mut f32, v: &mut f32) {
        let g = g + self.decay * *w;
        *m = self.beta1 * *m + (1.0 - self.beta1) * g;
        *v = self.beta2 * *v + (1.0 - self.beta2) * g * g;
        *w -= self.lr_t * *m / (v.sqrt() + self.epsilon);
    }

    /// The update over whole parameters. The loop is compiled for AVX-512 or AVX2 as well, taken
    /// when the CPU has them (the crate is built for baseline x86_64, whose 4-wide SSE2 makes
    /// the square roots and divisions a large share of an MLP's step); each element's arithmetic
    /// is the same IEEE operations in every version, so the numbers do not depend on the CPU.
    fn apply_slices(&self, w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) {
        #[inline(always)]
        fn run(step: &AdamStep, w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) {
            for (((w, &g), m), v) in w.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
                step.apply(w, g, m, v);
            }
        }
        #[cfg(target_arch = "x86_64")]
        {
            #[target_feature(enable = "avx512f")]
            fn avx512(step: &AdamStep, w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) {
                run(step, w, g, m, v)
            }
            #[target_feature(enable = "avx2")]
            fn avx2(step: &AdamStep, w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) {
                run(step, w, g, m, v)
            }
            if std::arch::is_x86_feature_detected!("avx512f") {
                // SAFETY: the CPU has AVX-512F, checked just above.
                return unsafe { avx512(self, w, g, m, v) };
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has AVX2, checked just above.
                return unsafe { avx2(self, w, g, m, v) };
            }
        }
        run(self, w, g, m, v)
    }
}
