//! The printer columns the template kinds share.

use std::sync::Arc;

use super::source_type;
use crate::resource::{ColumnSource, PrinterColumn};

/// A column read with a JSONPath.
pub fn column(name: &str, column_type: &str, path: &str, priority: i32) -> PrinterColumn {
    PrinterColumn {
        name: name.into(),
        column_type: column_type.into(),
        format: String::new(),
        description: String::new(),
        priority,
        source: ColumnSource::JsonPath(path.into()),
    }
}

/// SOURCE: `helm` or `inline`.
pub fn source_column(priority: i32) -> PrinterColumn {
    PrinterColumn {
        name: "Source".into(),
        column_type: "string".into(),
        format: String::new(),
        description: "Where the objects come from: helm or inline.".into(),
        priority,
        source: ColumnSource::Computed(Arc::new(|obj| source_type(&obj["spec"]["source"]))),
    }
}
