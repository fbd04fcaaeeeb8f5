//! What a training did, epoch by epoch. Serialisable (JSON) so the store of finished trainings
//! keeps it: numbers are written as JSON numbers and read back to the same bits, and a diverged
//! run's NaN or infinite loss as the strings "NaN", "inf", "-inf" (JSON has no such numbers).

use serde::{Deserialize, Serialize};

/// One epoch's numbers.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    pub epoch: usize,
    #[serde(with = "float")]
    pub loss: f64,
    #[serde(with = "float")]
    pub accuracy: f64,
    #[serde(with = "float::option")]
    pub val_loss: Option<f64>,
    #[serde(with = "float::option")]
    pub val_accuracy: Option<f64>,
    #[serde(with = "float")]
    pub seconds: f64,
    /// The learning rate the epoch trained with.
    #[serde(with = "float")]
    pub lr: f64,
}

/// What training did, epoch by epoch.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    pub epochs: Vec<EpochRecord>,
    /// The epoch (1-based) whose weights the model holds at the end.
    pub best_epoch: usize,
    pub stopped_early: bool,
}

impl History {
    pub fn last(&self) -> Option<&EpochRecord> {
        self.epochs.last()
    }

    /// The record of the epoch whose weights the model holds (`best_epoch`; the last epoch
    /// unless early stopping put back an earlier one).
    pub fn kept(&self) -> Option<&EpochRecord> {
        self.best_epoch
            .checked_sub(1)
            .and_then(|i| self.epochs.get(i))
    }

    pub fn seconds(&self) -> f64 {
        self.epochs.iter().map(|e| e.seconds).sum()
    }
}

/// f64 as a JSON number when finite, else as "NaN" / "inf" / "-inf". serde_json's
/// `float_roundtrip` feature (workspace Cargo.toml) makes the numbers read back bit for bit.
pub(crate) mod float {
    use serde::{Deserialize, Deserializer, Serializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Written {
        Number(f64),
        Text(String),
    }

    pub fn serialize<S: Serializer>(value: &f64, s: S) -> Result<S::Ok, S::Error> {
        if value.is_finite() {
            s.serialize_f64(*value)
        } else {
            // Rust's spelling ("NaN", "inf", "-inf"), which `str::parse` reads back.
            s.serialize_str(&value.to_string())
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        match Written::deserialize(d)? {
            Written::Number(v) => Ok(v),
            Written::Text(t) => t
                .parse()
                .map_err(|_| serde::de::Error::custom(format!("`{t}` is not a number"))),
        }
    }

    pub mod option {
        use serde::{Deserialize, Deserializer, Serializer};

        #[derive(Deserialize)]
        struct Wrapped(#[serde(with = "super")] f64);

        pub fn serialize<S: Serializer>(value: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
            match value {
                Some(v) => super::serialize(v, s),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
            Ok(Option::<Wrapped>::deserialize(d)?.map(|w| w.0))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn a_history_reads_back_bit_for_bit_nan_and_none_included() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut epochs: Vec<EpochRecord> = (1..=200)
            .map(|epoch| EpochRecord {
                epoch,
                // Random bit patterns: every exponent, every mantissa.
                loss: f64::from_bits(rng.gen::<u64>() >> 2),
                accuracy: rng.gen::<f64>(),
                val_loss: (epoch % 3 != 0).then(|| rng.gen::<f64>() * 1e-300),
                val_accuracy: Some(f64::from(rng.gen::<f32>())),
                seconds: rng.gen::<f64>() * 1e4,
                lr: f64::from(1e-3f32),
            })
            .collect();
        epochs[4].loss = f64::NAN;
        epochs[5].loss = f64::INFINITY;
        epochs[6].val_loss = Some(f64::NEG_INFINITY);
        epochs[7].val_loss = Some(f64::NAN);
        let history = History {
            epochs,
            best_epoch: 17,
            stopped_early: true,
        };
        let text = serde_json::to_string(&history).expect("encode");
        let back: History = serde_json::from_str(&text).expect("decode");
        let bits = |h: &History| -> Vec<[Option<u64>; 6]> {
            h.epochs
                .iter()
                .map(|e| {
                    [
                        Some(e.loss.to_bits()),
                        Some(e.accuracy.to_bits()),
                        e.val_loss.map(f64::to_bits),
                        e.val_accuracy.map(f64::to_bits),
                        Some(e.seconds.to_bits()),
                        Some(e.lr.to_bits()),
                    ]
                })
                .collect()
        };
        assert_eq!(bits(&back), bits(&history));
        assert_eq!((back.best_epoch, back.stopped_early), (17, true));
        assert!(text.contains("\"loss\":\"NaN\""), "{}", &text[..200]);
    }
}
