//! Newtype ids of the compiled world (model stage, below `model` and
//! `metrics` so both can name them without an import cycle).
//!
//! Each id is an index into one of the model's flat vectors, wrapped so that
//! one kind cannot pass as another (a backend position inside a balancer is
//! a plain `usize`, a server id is a [`ServerId`]). They are zero cost:
//! `#[repr(transparent)]` over `u32`.

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[repr(transparent)]
        #[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(u32);

        impl $name {
            /// No entry: a placeholder before one is chosen (never a valid index).
            pub const NONE: Self = Self(u32::MAX);

            /// The index into the model's vector of this kind.
            #[inline]
            pub const fn index(self) -> usize {
                self.0 as usize
            }

            /// The id of entry `i` of the model's vector of this kind.
            #[inline]
            pub const fn from_index(i: usize) -> Self {
                Self(i as u32)
            }
        }
    };
}

id_type!(
    /// A server: index into `World::servers`.
    ServerId
);
