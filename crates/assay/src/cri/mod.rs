//! CRI mode: assay speaks the Kubernetes Container Runtime Interface (`runtime.v1`) to
//! containerd, and compares OCI runtimes as runtime handlers, the way a pod pays for them.

pub mod api;
pub mod bench;
pub mod check;
pub mod client;
pub mod containerd;
pub mod endpoint;
pub mod pod;
pub mod run;
pub mod session;
pub mod sysbench;
pub mod wasm;
