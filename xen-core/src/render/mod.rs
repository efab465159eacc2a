//! Text renderings of the host model. (Being built: issue 7.)
