//! Kernel throughput: every registered attribute with its default
//! parameters on a 64 × 64 × 256 block of synthetic seismic (plus the halo
//! the attribute declares), single thread, best of several runs, on a clean
//! block and on a noisy one (noise as strong as the reflections, as in field
//! data: some algorithms slow down on it). Prints voxels per second on
//! both; with `--copy-rate R` (voxels/s of a `copy` job through the whole
//! engine, as `bench/kernels.sh` measures it) also each kernel's cost on
//! the slower of the two relative to that, flagging those above 10×.
//! `--core I,X,T` sets another block (a job's work unit is often one 64³
//! chunk).
//!
//!     cargo bench -p attributes --bench kernels [-- --copy-rate R] [--only NAME] [--core I,X,T]

use attributes::{registry, Halo, Setup, Shared};
use ndarray::Array3;
use std::time::Instant;

/// The block's core unless `--core` says otherwise.
const CORE: [usize; 3] = [64, 64, 256];

/// Layered synthetic: dipping reflectors of several frequencies plus
/// noise of amplitude `noise` (20: clean; 200: as strong as the signal).
fn synthetic(shape: [usize; 3], noise_amplitude: f32) -> Array3<f32> {
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    Array3::from_shape_fn((shape[0], shape[1], shape[2]), |(i, j, k)| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let noise = (seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
        let t = k as f32 - 0.3 * i as f32 + 0.2 * j as f32;
        (0.21 * t).sin() * 100.0 + (0.05 * t).cos() * 60.0 + noise * noise_amplitude
    })
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let copy_rate: Option<f64> = flag("--copy-rate").and_then(|v| v.parse().ok());
    let only = flag("--only");
    let core_shape: [usize; 3] = match flag("--core") {
        None => CORE,
        Some(v) => {
            let n: Vec<usize> = v.split(',').filter_map(|d| d.trim().parse().ok()).collect();
            match <[usize; 3]>::try_from(n) {
                Ok(c) if c.iter().all(|&d| d > 0) => c,
                _ => {
                    eprintln!("kernels: --core wants three positive sizes, as 64,64,64; got {v}");
                    std::process::exit(2);
                }
            }
        }
    };
    let setup = Setup {
        sample_interval_ms: Some(4.0),
        ..Default::default()
    };
    let voxels = core_shape.iter().product::<usize>() as f64;
    println!(
        "{:<30} {:<14} {:>12} {:>12} {:>14}",
        "attribute", "family", "Mvoxels/s", "noisy", "× copy job"
    );
    for a in registry() {
        if only.as_deref().is_some_and(|o| o != a.name()) {
            continue;
        }
        let k = a
            .build(&serde_json::Map::new(), &setup)
            .expect("defaults build");
        let halo = k.halo();
        let shape: [usize; 3] = [0, 1, 2].map(|ax| match halo[ax] {
            Halo::Depth(d) => core_shape[ax] + 2 * d,
            Halo::Full => core_shape[ax],
        });
        let core: attributes::Region =
            [0, 1, 2].map(|ax| (shape[ax] - core_shape[ax]) / 2..(shape[ax] + core_shape[ax]) / 2);
        let [clean, noisy] = [20.0, 200.0].map(|noise| {
            let block = synthetic(shape, noise);
            let mut best = f64::INFINITY;
            let started = Instant::now();
            let mut runs = 0;
            while runs < 2 || (started.elapsed().as_secs_f64() < 1.0 && runs < 10) {
                let t = Instant::now();
                // the core the engine keeps, as it asks for it
                let out = k.compute_region(block.view(), &core, &mut Shared::new());
                best = best.min(t.elapsed().as_secs_f64());
                std::hint::black_box(out);
                runs += 1;
            }
            voxels / best
        });
        let ratio = copy_rate.map(|c| c / clean.min(noisy));
        println!(
            "{:<30} {:<14} {:>12.2} {:>12.2} {:>14}",
            a.name(),
            a.family(),
            clean / 1e6,
            noisy / 1e6,
            match ratio {
                Some(r) if r > 10.0 => format!("{r:.1}  SLOW"),
                Some(r) => format!("{r:.2}"),
                None => "-".into(),
            }
        );
    }
}
