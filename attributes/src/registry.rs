//! Every attribute, by family, in the order `attr list` shows them, and
//! lookup by name.

use crate::families::{
    amplitude, coherence, complex_trace, filters, glcm, identity, instantaneous, response,
    spectral, structure, tensor,
};
use crate::params;
use crate::{AttrError, Attribute};

/// Every family's attributes: a family lists its own, in its file.
const FAMILIES: &[&[&dyn Attribute]] = &[
    identity::ATTRIBUTES,
    complex_trace::ATTRIBUTES,
    instantaneous::ATTRIBUTES,
    response::ATTRIBUTES,
    amplitude::ATTRIBUTES,
    spectral::ATTRIBUTES,
    structure::ATTRIBUTES,
    coherence::ATTRIBUTES,
    tensor::ATTRIBUTES,
    filters::ATTRIBUTES,
    glcm::ATTRIBUTES,
];

/// All attributes, in the order `attr list` shows them.
pub fn registry() -> impl Iterator<Item = &'static dyn Attribute> {
    FAMILIES.iter().flat_map(|f| f.iter().copied())
}

/// Look an attribute up by name; the error suggests the closest names.
pub fn lookup(name: &str) -> Result<&'static dyn Attribute, AttrError> {
    if let Some(a) = registry().find(|a| a.name() == name) {
        return Ok(a);
    }
    let names: Vec<&'static str> = registry().map(|a| a.name()).collect();
    let hint = match params::closest(name, &names) {
        Some(s) => format!(" (did you mean '{s}'? `attr list` shows them all)"),
        None => " (`attr list` shows the available attributes)".to_string(),
    };
    Err(AttrError::UnknownAttribute {
        name: name.to_string(),
        hint,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Setup;

    /// Every family's list reaches the registry once, and every attribute
    /// deserialises its defaults into its typed parameters.
    #[test]
    fn every_attribute_builds_from_its_defaults() {
        let setup = Setup {
            sample_interval_ms: Some(4.0),
            ..Default::default()
        };
        let mut names: Vec<&str> = registry().map(|a| a.name()).collect();
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!((n, names.len()), (65, 65));
        for a in registry() {
            let k = a
                .build(&serde_json::Map::new(), &setup)
                .unwrap_or_else(|e| panic!("{}: {e}", a.name()));
            assert!(k.resolved().is_object(), "{}", a.name());
            assert!(lookup(a.name()).is_ok());
        }
        let e = lookup("envelop").err().expect("no such attribute");
        assert!(e.to_string().contains("'envelope'"), "{e}");
    }
}
