//! The interactive screen of `xenadm top`. (Being built: issue 7.)
