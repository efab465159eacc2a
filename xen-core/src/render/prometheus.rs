//! (Being built: issue 7.)
