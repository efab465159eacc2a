//! Raw FFI to the Xen toolstack libraries, loaded at run time. (Being built: issue 7.)
