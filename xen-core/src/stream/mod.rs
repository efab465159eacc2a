//! xl save files and migration streams. (Being built: issue 8.)
