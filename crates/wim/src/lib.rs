//! WIM archive reader: header, blob table, metadata, chunked and solid resources (placeholder: being written).
