//! Clean-room MSDelta PA30 (RAW subset) decoder and encoder (placeholder: being written).
