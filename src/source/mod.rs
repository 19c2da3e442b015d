//! Where updates come from. Each source ends in a verified [`crate::bundle::Bundle`].

pub mod dir;
pub mod github;
pub mod staged;
