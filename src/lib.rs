//! sxsaudit (being written).
