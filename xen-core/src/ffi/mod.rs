//! Owner types for the C handles of the Xen libraries. (Being built: issue 7.)
