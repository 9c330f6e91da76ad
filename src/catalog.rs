//! `attr list`: the registry, for people and for programs.

use attributes::{registry, Attribute};
use serde_json::{json, Value};

/// One attribute as JSON: what `attr list --json` prints for it.
pub fn describe(a: &dyn Attribute) -> Value {
    let kernel = a.build(
        &serde_json::Map::new(),
        &attributes::Setup {
            sample_interval_ms: Some(4.0),
            ..Default::default()
        },
    );
    let halo = match &kernel {
        Ok(k) => json!(k.halo().map(|h| h.describe())),
        Err(_) => Value::Null,
    };
    // how null samples (missing traces, mutes) enter its windows
    let nulls = match &kernel {
        Ok(k) if k.null_aware() => json!("excluded"),
        Ok(_) => json!("as zeros"),
        Err(_) => Value::Null,
    };
    json!({
        "name": a.name(),
        "family": a.family(),
        "description": a.description(),
        "reference": a.reference(),
        "unit": a.unit(),
        "halo_default": halo,
        "nulls": nulls,
        "parameters": a.params().iter().map(|p| json!({
            "name": p.name,
            "default": p.default_value(),
            "unit": p.unit,
            "valid": p.range(),
            "help": p.help,
        })).collect::<Vec<_>>(),
    })
}

/// The attribute table of docs/attributes.md, generated from the registry (a test
/// fails when that copy differs).
pub fn markdown() -> String {
    let esc = |s: &str| s.replace('|', "\\|");
    let mut out = String::from(
        "| name | family | unit | halo (il, xl, sample) | nulls | parameters (default) | definition | reference |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    for a in registry() {
        let d = describe(a);
        let halo = d["halo_default"]
            .as_array()
            .map(|h| {
                h.iter()
                    .map(|v| v.as_str().unwrap_or("?").to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        let params: Vec<String> = a
            .params()
            .iter()
            .map(|p| {
                let default = p.default_text();
                let unit = if p.unit.is_empty() {
                    String::new()
                } else {
                    format!(" {}", p.unit)
                };
                format!("`{}` ({default}{unit})", p.name)
            })
            .collect();
        out.push_str(&format!(
            "| `{}` | {} | {} | {halo} | {} | {} | {} | {} |\n",
            a.name(),
            a.family(),
            esc(a.unit()),
            d["nulls"].as_str().unwrap_or("?"),
            if params.is_empty() {
                "—".to_string()
            } else {
                esc(&params.join(", "))
            },
            esc(a.description()),
            esc(a.reference())
        ));
    }
    out
}

pub fn print(as_json: bool) -> anyhow::Result<()> {
    let all: Vec<_> = registry().collect();
    if as_json {
        let v: Vec<Value> = all.iter().map(|a| describe(*a)).collect();
        crate::outln!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    for a in &all {
        let d = describe(*a);
        let halo = d["halo_default"]
            .as_array()
            .map(|h| {
                h.iter()
                    .map(|v| v.as_str().unwrap_or("?"))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_else(|| "?".into());
        crate::outln!(
            "{}  [{}]  unit: {}  halo (inline, crossline, sample): {halo}  nulls: {}",
            a.name(),
            a.family(),
            a.unit(),
            d["nulls"].as_str().unwrap_or("?"),
        );
        crate::outln!("    {}", a.description());
        for p in a.params() {
            let default = p.default_text();
            let unit = if p.unit.is_empty() {
                String::new()
            } else {
                format!(" [{}]", p.unit)
            };
            crate::outln!(
                "    - {}{unit}: {} (default {default}; {})",
                p.name,
                p.help,
                p.range()
            );
        }
        crate::outln!("    ref: {}", a.reference());
        crate::outln!();
    }
    Ok(())
}
