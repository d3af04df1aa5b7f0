//! Run-time choice between the AVX2/FMA build of a pass and its portable one.
//!
//! Every elementwise pass is written once as a plain Rust body and compiled
//! twice by the private `multiversion!` macro: once for the baseline target and once with
//! `avx2,fma` enabled, where LLVM vectorises it 8 lanes wide. A
//! [`SimdPath`] that names AVX2/FMA can only be made after the CPU was seen
//! to have both features, which is what makes calling that build sound.
//!
//! The bodies never use `mul_add` and keep their reductions in a fixed,
//! explicit order, so both builds produce bit-identical results; the tests
//! check exactly that.

/// Which build of the elementwise passes to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SimdPath(Kind);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Portable,
    Avx2Fma,
}

impl SimdPath {
    /// The baseline build, available everywhere.
    pub fn portable() -> Self {
        SimdPath(Kind::Portable)
    }

    /// The AVX2/FMA build, if this CPU has both features.
    pub fn avx2_fma() -> Option<Self> {
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                return Some(SimdPath(Kind::Avx2Fma));
            }
        }
        None
    }

    /// The fastest build this CPU supports.
    pub fn best() -> Self {
        Self::avx2_fma().unwrap_or_else(Self::portable)
    }

    /// Every build this CPU can run, for tests that check them all.
    pub fn available() -> Vec<Self> {
        std::iter::once(Self::portable()).chain(Self::avx2_fma()).collect()
    }

    /// Whether this is the AVX2/FMA build.
    pub fn is_avx2_fma(self) -> bool {
        self.0 == Kind::Avx2Fma
    }

    /// `"avx2+fma"` or `"portable"`.
    pub fn name(self) -> &'static str {
        match self.0 {
            Kind::Portable => "portable",
            Kind::Avx2Fma => "avx2+fma",
        }
    }
}

/// Defines `fn NAME(path: SimdPath, args…)` that runs `body` compiled either
/// for the baseline target or with AVX2/FMA enabled, as `path` says.
macro_rules! multiversion {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident : $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$meta])*
        $vis fn $name(path: $crate::engine::simd::SimdPath, $($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            fn body($($arg: $ty),*) $(-> $ret)? $body

            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            fn avx2_fma($($arg: $ty),*) $(-> $ret)? {
                body($($arg),*)
            }

            #[cfg(target_arch = "x86_64")]
            if path.is_avx2_fma() {
                // SAFETY: a SimdPath naming AVX2/FMA is only constructed by
                // SimdPath::avx2_fma after run-time detection of both features.
                return unsafe { avx2_fma($($arg),*) };
            }
            let _ = path;
            body($($arg),*)
        }
    };
}
pub(crate) use multiversion;
