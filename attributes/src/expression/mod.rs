//! `expression:` outputs: attribute arithmetic. An expression combines the
//! input, attributes and other outputs of the job, sample by sample, with
//! sample shifts along the trace. It is parsed once ([`parse`]); each name
//! is a kernel run on the expression's own block (sharing the block's
//! intermediates with the others), so nothing is written between them.
//! Nulls propagate: any null operand gives a null result, comparisons and
//! `where` included.

mod parse;

pub use parse::{parse, Expr, Func, Op, ParseError};

use crate::{convolve::Region, AttrError, Halo, Kernel, Shared};
use ndarray::{s, Array3, ArrayView3, Zip};

/// A name of an expression: the input samples, or a kernel.
pub enum Source {
    Input,
    Kernel(Box<dyn Kernel>),
}

struct Reference {
    name: String,
    source: Source,
    /// The shifts it is read at, lowest and highest (0 included).
    shifts: (i64, i64),
}

pub struct ExpressionKernel {
    text: String,
    expr: Expr,
    refs: Vec<Reference>,
}

/// Build the kernel of `text`, asking `source` what each name is (an error
/// message for a name that is nothing).
pub fn kernel(
    text: &str,
    source: &dyn Fn(&str) -> Result<Source, String>,
) -> Result<Box<dyn Kernel>, AttrError> {
    let expr = parse(text).map_err(|e| AttrError::Other(format!("expression {e}")))?;
    let mut names = Vec::new();
    expr.names(&mut names);
    let mut refs: Vec<Reference> = Vec::new();
    for (name, shift, column) in names {
        match refs.iter_mut().find(|r| r.name == name) {
            Some(r) => r.shifts = (r.shifts.0.min(shift), r.shifts.1.max(shift)),
            None => {
                let s = source(&name).map_err(|m| {
                    AttrError::Other(format!("expression column {column}: '{name}': {m}"))
                })?;
                refs.push(Reference {
                    name,
                    source: s,
                    shifts: (shift.min(0), shift.max(0)),
                });
            }
        }
    }
    Ok(Box::new(ExpressionKernel {
        text: text.to_string(),
        expr,
        refs,
    }))
}

/// A value while evaluating: one number, or one per sample of the core.
enum Val {
    Scalar(f32),
    Array(Array3<f32>),
}

impl Val {
    fn map(self, f: impl Fn(f32) -> f32) -> Val {
        match self {
            Val::Scalar(v) => Val::Scalar(f(v)),
            Val::Array(mut a) => {
                a.mapv_inplace(f);
                Val::Array(a)
            }
        }
    }

    fn zip(self, other: Val, f: impl Fn(f32, f32) -> f32) -> Val {
        match (self, other) {
            (Val::Scalar(a), Val::Scalar(b)) => Val::Scalar(f(a, b)),
            (Val::Array(mut a), Val::Scalar(b)) => {
                a.mapv_inplace(|x| f(x, b));
                Val::Array(a)
            }
            (Val::Scalar(a), Val::Array(mut b)) => {
                b.mapv_inplace(|x| f(a, x));
                Val::Array(b)
            }
            (Val::Array(mut a), Val::Array(b)) => {
                a.zip_mut_with(&b, |x, &y| *x = f(*x, y));
                Val::Array(a)
            }
        }
    }
}

/// `f` of two operands, null where either is.
fn nan_or(a: f32, b: f32, f: impl Fn(f32, f32) -> f32) -> f32 {
    if a.is_nan() || b.is_nan() {
        f32::NAN
    } else {
        f(a, b)
    }
}

fn truth(c: bool) -> f32 {
    if c {
        1.0
    } else {
        0.0
    }
}

impl ExpressionKernel {
    fn eval(&self, e: &Expr, values: &[(Array3<f32>, [usize; 3])], core: &Region) -> Val {
        match e {
            Expr::Num(v) => Val::Scalar(*v),
            Expr::Name { name, shift, .. } => {
                let i = self
                    .refs
                    .iter()
                    .position(|r| &r.name == name)
                    .expect("every name resolved");
                Val::Array(shifted(&values[i], core, *shift))
            }
            Expr::Neg(a) => self.eval(a, values, core).map(|x| -x),
            Expr::Bin(op, a, b) => {
                let (a, b) = (self.eval(a, values, core), self.eval(b, values, core));
                match op {
                    Op::Add => a.zip(b, |x, y| x + y),
                    Op::Sub => a.zip(b, |x, y| x - y),
                    Op::Mul => a.zip(b, |x, y| x * y),
                    Op::Div => a.zip(b, |x, y| x / y),
                    Op::Pow => a.zip(b, f32::powf),
                    Op::Lt => a.zip(b, |x, y| nan_or(x, y, |x, y| truth(x < y))),
                    Op::Le => a.zip(b, |x, y| nan_or(x, y, |x, y| truth(x <= y))),
                    Op::Gt => a.zip(b, |x, y| nan_or(x, y, |x, y| truth(x > y))),
                    Op::Ge => a.zip(b, |x, y| nan_or(x, y, |x, y| truth(x >= y))),
                    Op::Eq => a.zip(b, |x, y| nan_or(x, y, |x, y| truth(x == y))),
                    Op::Ne => a.zip(b, |x, y| nan_or(x, y, |x, y| truth(x != y))),
                }
            }
            Expr::Call { func, args } => {
                let mut v: Vec<Val> = args.iter().map(|a| self.eval(a, values, core)).collect();
                let last = v.pop().expect("arity checked");
                match func {
                    Func::Abs => last.map(f32::abs),
                    Func::Sqrt => last.map(f32::sqrt),
                    Func::Log => last.map(f32::ln),
                    Func::Exp => last.map(f32::exp),
                    Func::Min => v.pop().expect("2").zip(last, |x, y| nan_or(x, y, f32::min)),
                    Func::Max => v.pop().expect("2").zip(last, |x, y| nan_or(x, y, f32::max)),
                    Func::Clip => {
                        let lo = v.pop().expect("3");
                        let x = v.pop().expect("3");
                        x.zip(lo, |x, lo| nan_or(x, lo, f32::max))
                            .zip(last, |x, hi| nan_or(x, hi, f32::min))
                    }
                    Func::Where => {
                        let a = v.pop().expect("3");
                        let c = v.pop().expect("3");
                        where_(c, a, last)
                    }
                }
            }
        }
    }
}

/// `c ? a : b` per sample, null where `c` is.
fn where_(c: Val, a: Val, b: Val) -> Val {
    let pick = |c: f32, a: f32, b: f32| {
        if c.is_nan() {
            f32::NAN
        } else if c != 0.0 {
            a
        } else {
            b
        }
    };
    let shape = [&c, &a, &b].iter().find_map(|v| match v {
        Val::Array(x) => Some(x.raw_dim()),
        Val::Scalar(_) => None,
    });
    let Some(shape) = shape else {
        let (Val::Scalar(c), Val::Scalar(a), Val::Scalar(b)) = (c, a, b) else {
            unreachable!()
        };
        return Val::Scalar(pick(c, a, b));
    };
    let full = |v: Val| match v {
        Val::Array(x) => x,
        Val::Scalar(s) => Array3::from_elem(shape, s),
    };
    let (c, a, b) = (full(c), full(a), full(b));
    Val::Array(
        Zip::from(&c)
            .and(&a)
            .and(&b)
            .map_collect(|&c, &a, &b| pick(c, a, b)),
    )
}

/// The values `v` (starting at view position `origin`) at `core`, shifted
/// `shift` samples down the trace; null beyond what was computed.
fn shifted(v: &(Array3<f32>, [usize; 3]), core: &Region, shift: i64) -> Array3<f32> {
    let (a, origin) = v;
    let start =
        [0, 1, 2].map(|x| core[x].start as i64 - origin[x] as i64 + if x == 2 { shift } else { 0 });
    let len = [0, 1, 2].map(|x| core[x].len() as i64);
    let dim = a.shape();
    let inside = (0..3).all(|x| start[x] >= 0 && start[x] + len[x] <= dim[x] as i64);
    if inside {
        let u = |x: usize| start[x] as usize;
        return a
            .slice(s![
                u(0)..u(0) + len[0] as usize,
                u(1)..u(1) + len[1] as usize,
                u(2)..u(2) + len[2] as usize
            ])
            .to_owned();
    }
    Array3::from_shape_fn(
        (len[0] as usize, len[1] as usize, len[2] as usize),
        |(i, j, k)| {
            let at = [
                start[0] + i as i64,
                start[1] + j as i64,
                start[2] + k as i64,
            ];
            if (0..3).all(|x| at[x] >= 0 && at[x] < dim[x] as i64) {
                a[[at[0] as usize, at[1] as usize, at[2] as usize]]
            } else {
                f32::NAN
            }
        },
    )
}

impl Kernel for ExpressionKernel {
    fn halo(&self) -> [Halo; 3] {
        let mut out = [Halo::Depth(0); 3];
        for r in &self.refs {
            let h = match &r.source {
                Source::Input => [Halo::Depth(0); 3],
                Source::Kernel(k) => k.halo(),
            };
            let reach = (r.shifts.0.unsigned_abs()).max(r.shifts.1.unsigned_abs()) as usize;
            for a in 0..3 {
                out[a] = match (out[a], h[a]) {
                    (Halo::Full, _) | (_, Halo::Full) => Halo::Full,
                    (Halo::Depth(x), Halo::Depth(y)) => {
                        Halo::Depth(x.max(y + if a == 2 { reach } else { 0 }))
                    }
                };
            }
        }
        out
    }

    fn compute(&self, block: ArrayView3<f32>, shared: &mut Shared) -> Array3<f32> {
        let d = block.dim();
        let core = crate::convolve::whole(d);
        let (v, at) = self.compute_region(block, &core, shared);
        debug_assert_eq!(at, [0; 3]);
        v
    }

    fn compute_region(
        &self,
        block: ArrayView3<f32>,
        core: &Region,
        shared: &mut Shared,
    ) -> (Array3<f32>, [usize; 3]) {
        let dim = block.dim();
        let n2 = dim.2 as i64;
        // kernels that take nulls as zeros get them so, with a memo of their own
        let mut filled: Option<(Array3<f32>, Shared)> = None;
        let mut values = Vec::with_capacity(self.refs.len());
        for r in &self.refs {
            let lo = (core[2].start as i64 + r.shifts.0).clamp(0, n2) as usize;
            let hi = (core[2].end as i64 + r.shifts.1).clamp(0, n2) as usize;
            let region: Region = [core[0].clone(), core[1].clone(), lo..hi.max(lo)];
            let v = match &r.source {
                Source::Input => (
                    block
                        .slice(s![region[0].clone(), region[1].clone(), region[2].clone()])
                        .to_owned(),
                    crate::convolve::origin(&region),
                ),
                Source::Kernel(k) if k.null_aware() => k.compute_region(block, &region, shared),
                Source::Kernel(k) => {
                    let (f, memo) = filled.get_or_insert_with(|| {
                        let nulls = crate::nulls::any_null(block);
                        let mut memo = Shared::with_nulls(nulls);
                        memo.set_view(shared.view_origin(), [dim.0, dim.1, dim.2]);
                        for r in &self.refs {
                            if let Source::Kernel(k) = &r.source {
                                if !k.null_aware() {
                                    k.announce(&mut memo);
                                }
                            }
                        }
                        (crate::nulls::zero_filled(block), memo)
                    });
                    k.compute_region(f.view(), &region, memo)
                }
            };
            values.push(v);
        }
        let out = match self.eval(&self.expr, &values, core) {
            Val::Array(a) => a,
            Val::Scalar(s) => Array3::from_elem((core[0].len(), core[1].len(), core[2].len()), s),
        };
        (out, crate::convolve::origin(core))
    }

    fn resolved(&self) -> serde_json::Value {
        serde_json::json!({ "expression": self.text })
    }

    fn null_aware(&self) -> bool {
        true
    }

    fn working_copies(&self) -> f32 {
        let kernels: f32 = self
            .refs
            .iter()
            .map(|r| match &r.source {
                Source::Input => 1.0,
                Source::Kernel(k) => k.working_copies(),
            })
            .sum();
        kernels + 3.0
    }

    fn announce(&self, shared: &mut Shared) {
        for r in &self.refs {
            if let Source::Kernel(k) = &r.source {
                if k.null_aware() {
                    k.announce(shared);
                }
            }
        }
    }
}
