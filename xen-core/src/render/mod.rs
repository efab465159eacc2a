//! Text renderings of the host model: the formats of `xl list`, `xl info`, `xentop -b`, CSV
//! (virt-top's model) and the Prometheus text exposition format.

pub mod csv;
pub mod prometheus;
pub mod xentop;
pub mod xl_info;
pub mod xl_list;
