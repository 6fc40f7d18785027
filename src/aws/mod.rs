//! aws (in progress)
