//! libkapsel
