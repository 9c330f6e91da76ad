//! Why an attribute could not be configured.

#[derive(Debug, thiserror::Error)]
pub enum AttrError {
    #[error("unknown attribute '{name}'{hint}")]
    UnknownAttribute { name: String, hint: String },
    #[error("parameter '{param}': {message}")]
    BadParam { param: String, message: String },
    #[error("{0}")]
    Other(String),
}
