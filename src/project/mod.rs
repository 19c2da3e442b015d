//! Application projects: writing a new one from the template (`ota new`),
//! and finding, from an ELF that cargo built, the project's folder of files
//! that travels with the image (`ota run`).

pub mod locate;
pub mod template;

pub use locate::{files_of, ProjectFiles};
pub use template::{create, OtaApp, Variant};
