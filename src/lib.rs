#![deny(missing_docs)]
//! gcpool
