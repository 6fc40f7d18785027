//! live tests
