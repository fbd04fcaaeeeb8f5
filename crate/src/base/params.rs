//! Parameters are validated one way, linfa's `ParamGuard` shape: every params type has the same
//! public `check()` (from [`linfa::ParamGuard`], re-exported at the crate root), which returns it
//! wrapped in [`Checked`]; every `fit` calls it first. A type states its rules in one `rules`
//! function and gets the guard from [`param_guard!`](crate::param_guard).

use std::ops::Deref;

/// Parameters that passed their type's `check()`.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(transparent)]
pub struct Checked<P>(P);

impl<P> Checked<P> {
    /// Wraps a reference to parameters whose rules just passed (only the guard calls this).
    #[doc(hidden)]
    pub fn from_ref_after_check(params: &P) -> &Self {
        // SAFETY: `Checked<P>` is `repr(transparent)` over `P`: same layout, same alignment.
        unsafe { &*(params as *const P as *const Checked<P>) }
    }

    #[doc(hidden)]
    pub fn after_check(params: P) -> Self {
        Checked(params)
    }

    /// The checked parameters.
    pub fn into_inner(self) -> P {
        self.0
    }
}

impl<P> Deref for Checked<P> {
    type Target = P;
    fn deref(&self) -> &P {
        &self.0
    }
}

/// Implements [`linfa::ParamGuard`] for a params type with a `fn rules(&self) -> Result<()>`.
#[macro_export]
#[doc(hidden)]
macro_rules! param_guard {
    ($t:ty) => {
        impl linfa::ParamGuard for $t {
            type Checked = $crate::base::params::Checked<$t>;
            type Error = $crate::error::Error;

            fn check_ref(&self) -> ::std::result::Result<&Self::Checked, $crate::error::Error> {
                self.rules()?;
                Ok($crate::base::params::Checked::from_ref_after_check(self))
            }

            fn check(self) -> ::std::result::Result<Self::Checked, $crate::error::Error> {
                self.rules()?;
                Ok($crate::base::params::Checked::after_check(self))
            }
        }
    };
}
