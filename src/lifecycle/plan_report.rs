//! `attr plan`: the work a job will do, without doing it — the numbers come
//! from the same plan `attr run` executes.

use crate::batch::shards::task_range;
use crate::job::{chunk_total, Prepared};
use anyhow::{bail, Result};
use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::Path;

/// Largest graph drawn node by node; bigger plans are drawn as a summary.
const GRAPH_MAX_TASKS: usize = 64;

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// The plan of an attribute job, as `attr plan` prints it.
pub fn print(p: &Prepared, shards: Option<usize>, graph: Option<&Path>) -> Result<()> {
    let inp = &p.input;
    let nd = inp.ndim;
    let chunk_elems: u64 = inp.chunks.iter().product();
    let grid = inp.grid();
    crate::outln!(
        "input     {}{}",
        inp.path.display(),
        inp.variable
            .as_ref()
            .map(|v| format!(" ({v})"))
            .unwrap_or_default()
    );
    crate::outln!(
        "          shape {:?} {}  chunks {:?} ({} chunks)  {} uncompressed, {} stored",
        &inp.shape[3 - nd..],
        inp.dtype.v3_name(),
        &inp.chunks[3 - nd..],
        grid.iter().product::<u64>(),
        mb(inp.bytes()),
        mb(crate::store::stored_bytes(&inp.location))
    );
    crate::outln!("boundary  {}", p.spec.boundary.describe());
    let write_bytes = print_outputs(p);
    let all = p.plan.totals_of_all();
    let chunk_bytes = chunk_elems * 4;
    let front = (p.cache_bytes / chunk_bytes.max(1)).max(1) as usize;
    // the cache must hold the sweep's front (Plan::sweep)
    let decodes = if front as u64 >= p.plan.front_chunks() || front >= all.input_chunks {
        1.0
    } else {
        all.chunk_reads as f64 / all.input_chunks.max(1) as f64
    };
    crate::outln!("tasks     {}", p.plan.task_count());
    crate::outln!(
        "reads     {} input chunks, {} decoded ({:.2} decodes per chunk expected); {} gathered with halos ({:.2}x the volume)",
        all.input_chunks,
        mb(all.input_chunks as u64 * chunk_elems * inp.dtype.size() as u64),
        decodes,
        mb(all.gathered * 4),
        all.gathered as f64 / inp.shape.iter().product::<u64>() as f64
    );
    let out_chunks: usize = p.outputs.iter().map(|o| chunk_total(p, o)).sum();
    crate::outln!("writes    {out_chunks} output chunks, {}", mb(write_bytes));
    let (per_worker, needed) = p.plan.memory_parts(p.workers);
    let cache = needed.min(front as u64 * chunk_bytes);
    crate::outln!(
        "memory    about {} peak with {} workers ({} per worker, up to {} of decoded chunks, cache_mb {}); budget {} ({})",
        mb(p.plan.memory_estimate(p.workers, p.cache_bytes)),
        p.workers,
        mb(per_worker),
        mb(cache),
        p.cache_bytes >> 20,
        mb(p.budget.bytes),
        p.budget.from
    );
    if let Some(n) = shards {
        print_shards(p, n)?;
    }
    if let Some(path) = graph {
        write_graph(p, path)?;
    }
    Ok(())
}

/// One line per output: its dataset and variable, chunks, halo, tasks and
/// tiles; returns the bytes the outputs write.
fn print_outputs(p: &Prepared) -> u64 {
    let (inp, nd) = (&p.input, p.input.ndim);
    let mut write_bytes = 0u64;
    for (gi, g) in p.plan.groups.iter().enumerate() {
        let ntasks = g.tasks.iter().product::<u64>();
        for (&o, halo) in g.outputs.iter().zip(&g.halos) {
            let out = &p.outputs[o];
            let n = chunk_total(p, out);
            let bytes = inp.shape.iter().product::<u64>() * out.dtype.size() as u64;
            write_bytes += bytes;
            // a shard is the unit written: the files are shards
            let unit = match out.inner {
                None => format!("chunks {:?} ({n})", &out.chunks[3 - nd..]),
                Some(inner) => format!(
                    "shards {:?} ({n} files) of chunks {:?}",
                    &out.chunks[3 - nd..],
                    &inner[3 - nd..]
                ),
            };
            crate::outln!(
                "output    {}/{} = {}: {unit}, halo {:?}, {} tasks of {:?} {}{}, writes {}",
                out.location,
                out.name,
                out.attribute,
                &halo.map(|h| h.describe())[3 - nd..],
                ntasks,
                &g.span[3 - nd..],
                if out.inner.is_some() {
                    "shards"
                } else {
                    "chunks"
                },
                tiles_note(p, gi),
                mb(bytes)
            );
        }
    }
    write_bytes
}

/// Each shard's tasks, output chunks and input chunks.
fn print_shards(p: &Prepared, n: usize) -> Result<()> {
    if n == 0 {
        bail!("--shards must be at least 1");
    }
    crate::outln!("shards    {n}:");
    for s in 0..n {
        let r = task_range(p.plan.task_count(), s, n);
        let chunks: u64 = r
            .clone()
            .map(|i| {
                let t = p.plan.task(i);
                t.chunk_count() * p.plan.groups[t.group].outputs.len() as u64
            })
            .sum();
        let t = p.plan.totals(r.clone());
        crate::outln!(
            "          shard {s}: tasks {}..{} ({} tasks), {chunks} output chunks, reads {} input chunks",
            r.start,
            r.end,
            r.len(),
            t.input_chunks
        );
    }
    Ok(())
}

fn dot(p: &Prepared) -> String {
    let mut s =
        String::from("digraph attr_plan {\n  rankdir=LR;\n  node [shape=box, fontsize=10];\n");
    let nd = p.input.ndim;
    let show = |v: [u64; 3]| format!("{:?}", &v[3 - nd..]);
    if p.plan.task_count() > GRAPH_MAX_TASKS {
        let all = p.plan.totals_of_all();
        let _ = writeln!(
            s,
            "  input [label=\"input chunks\\n{} chunks of {}\"];",
            all.input_chunks,
            show(p.input.chunks)
        );
        let _ = writeln!(
            s,
            "  gather [label=\"gather + pad ({})\\n{} tasks\"];",
            p.spec.boundary.describe(),
            p.plan.task_count()
        );
        let _ = writeln!(
            s,
            "  input -> gather [label=\"{} reads\"];",
            all.chunk_reads
        );
        for (i, o) in p.outputs.iter().enumerate() {
            let _ = writeln!(s, "  k{i} [label=\"{}\", shape=ellipse];", o.attribute);
            let _ = writeln!(
                s,
                "  w{i} [label=\"{}/{}\\n{} chunks\"];",
                o.location,
                o.name,
                chunk_total(p, o)
            );
            let _ = writeln!(s, "  gather -> k{i}; k{i} -> w{i};");
        }
    } else {
        let mut inputs = HashSet::new();
        for (ti, t) in (0..p.plan.task_count()).map(|i| p.plan.task(i)).enumerate() {
            let _ = writeln!(
                s,
                "  g{ti} [label=\"gather {}..{}\"];",
                show(t.region.start),
                show(t.region.end)
            );
            let per_axis = p.plan.input_chunks_per_axis(&t);
            for &a in &per_axis[0] {
                for &b in &per_axis[1] {
                    for &c in &per_axis[2] {
                        let id = format!("i{a}_{b}_{c}");
                        if inputs.insert(id.clone()) {
                            let _ = writeln!(
                                s,
                                "  {id} [label=\"in {}\", shape=folder];",
                                show([a, b, c])
                            );
                        }
                        let _ = writeln!(s, "  {id} -> g{ti};");
                    }
                }
            }
            for &o in &p.plan.groups[t.group].outputs {
                let out = &p.outputs[o];
                let _ = writeln!(
                    s,
                    "  k{ti}_{o} [label=\"{}\", shape=ellipse];",
                    out.attribute
                );
                let _ = writeln!(s, "  g{ti} -> k{ti}_{o};");
                for c in t.chunks() {
                    let id = format!("o{o}_{}_{}_{}", c[0], c[1], c[2]);
                    let _ = writeln!(
                        s,
                        "  {id} [label=\"{} {}\", shape=note];",
                        out.name,
                        show(c)
                    );
                    let _ = writeln!(s, "  k{ti}_{o} -> {id};");
                }
            }
        }
    }
    s.push_str("}\n");
    s
}

fn write_graph(p: &Prepared, path: &Path) -> Result<()> {
    let text = dot(p);
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    match ext {
        "dot" | "gv" => std::fs::write(path, text)?,
        "png" | "svg" | "pdf" => {
            use std::io::Write;
            let child = std::process::Command::new("dot")
                .arg(format!("-T{ext}"))
                .arg("-o")
                .arg(path)
                .stdin(std::process::Stdio::piped())
                .spawn();
            let mut child = match child {
                Ok(c) => c,
                Err(_) => bail!(
                    "--graph {}: Graphviz `dot` is not installed (apt-get install graphviz); write .dot instead and render it elsewhere",
                    path.display()
                ),
            };
            child
                .stdin
                .take()
                .expect("piped stdin")
                .write_all(text.as_bytes())?;
            if !child.wait()?.success() {
                bail!("Graphviz dot failed to render {}", path.display());
            }
        }
        _ => bail!(
            "--graph {}: give a .dot, .png, .svg or .pdf file",
            path.display()
        ),
    }
    crate::outln!("graph     {}", path.display());
    Ok(())
}

/// ", in tiles of [..] samples" where the budget splits the group's tasks.
fn tiles_note(p: &crate::job::Prepared, group: usize) -> String {
    let g = &p.plan.groups[group];
    let nd = p.input.ndim;
    let task = g.task_shape(p.plan.shape);
    if (0..3).all(|a| g.tile[a] >= task[a]) {
        return String::new();
    }
    format!(
        ", computed in tiles of {:?} samples to fit the memory budget",
        &g.tile[3 - nd..]
    )
}
