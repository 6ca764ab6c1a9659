//! A small builder for conic programs solved by Clarabel: minimise ½xᵀPx + qᵀx subject to
//! linear equalities, linear inequalities (`a·x ≤ b`), second-order cones and exponential
//! cones, each row written as a sparse linear form.

use clarabel::algebra::CscMatrix;
use clarabel::solver::{
    DefaultSettingsBuilder, DefaultSolver, IPSolver, SolverStatus, SupportedConeT,
    SupportedConeT::{ExponentialConeT, NonnegativeConeT, SecondOrderConeT, ZeroConeT},
};

/// A sparse linear form: (variable index, coefficient) pairs.
pub(crate) type Form = Vec<(usize, f64)>;

/// How a solve ended when it gave no solution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The constraints admit no point.
    Infeasible,
    /// The objective is unbounded below (for example a return with no bounds on the weights).
    Unbounded,
    /// The solver stopped without the requested accuracy.
    Numerical,
}

/// A conic program under construction.
#[derive(Debug, Clone, Default)]
pub(crate) struct Program {
    nvar: usize,
    /// Upper-triangle entries (row ≤ column) of P.
    p: Vec<(usize, usize, f64)>,
    q: Vec<f64>,
    /// `a·x = b`.
    eq: Vec<(Form, f64)>,
    /// `a·x ≤ b`.
    le: Vec<(Form, f64)>,
    /// Second-order cones: rows `b − a·x`, the first bounding the norm of the rest.
    soc: Vec<Vec<(Form, f64)>>,
    /// Exponential cones: three rows `b − a·x` = (x, y, z) with y·exp(x/y) ≤ z.
    exp: Vec<[(Form, f64); 3]>,
}

impl Program {
    /// A program over `nvar` variables with a zero objective.
    pub(crate) fn new(nvar: usize) -> Self {
        Self { nvar, q: vec![0.0; nvar], ..Self::default() }
    }

    /// Number of variables.
    pub(crate) fn nvar(&self) -> usize {
        self.nvar
    }

    /// Adds `value` to P[i][j] and P[j][i] (the quadratic term ½xᵀPx).
    pub(crate) fn add_p(&mut self, i: usize, j: usize, value: f64) {
        let (r, c) = if i <= j { (i, j) } else { (j, i) };
        self.p.push((r, c, value));
    }

    /// Adds `value` to the linear objective coefficient of variable `i`.
    pub(crate) fn add_q(&mut self, i: usize, value: f64) {
        self.q[i] += value;
    }

    /// `a·x = b`.
    pub(crate) fn eq(&mut self, a: Form, b: f64) {
        self.eq.push((a, b));
    }

    /// `a·x ≤ b`.
    pub(crate) fn le(&mut self, a: Form, b: f64) {
        self.le.push((a, b));
    }

    /// `a·x ≥ b`.
    pub(crate) fn ge(&mut self, a: Form, b: f64) {
        self.le.push((a.into_iter().map(|(i, v)| (i, -v)).collect(), -b));
    }

    /// ‖(u₁, …, u_m)‖ ≤ t where t = `head` and uᵢ = `tail[i]`, each an affine form
    /// (linear part, constant).
    pub(crate) fn soc(&mut self, head: (Form, f64), tail: Vec<(Form, f64)>) {
        let row = |(a, c): (Form, f64)| (a.into_iter().map(|(i, v)| (i, -v)).collect::<Form>(), c);
        let mut rows = vec![row(head)];
        rows.extend(tail.into_iter().map(row));
        self.soc.push(rows);
    }

    /// y·exp(x/y) ≤ z for the affine forms x, y, z.
    pub(crate) fn exp_cone(&mut self, x: (Form, f64), y: (Form, f64), z: (Form, f64)) {
        let row = |(a, c): (Form, f64)| (a.into_iter().map(|(i, v)| (i, -v)).collect::<Form>(), c);
        self.exp.push([row(x), row(y), row(z)]);
    }

    /// Solves the program to tight tolerances (1e-10 on gap and feasibility).
    pub(crate) fn solve(&self) -> Result<Vec<f64>, Failure> {
        let n = self.nvar;
        let mut rows: Vec<&(Form, f64)> = Vec::new();
        let mut cones: Vec<SupportedConeT<f64>> = Vec::new();
        if !self.eq.is_empty() {
            rows.extend(self.eq.iter());
            cones.push(ZeroConeT(self.eq.len()));
        }
        if !self.le.is_empty() {
            rows.extend(self.le.iter());
            cones.push(NonnegativeConeT(self.le.len()));
        }
        for cone in &self.soc {
            rows.extend(cone.iter());
            cones.push(SecondOrderConeT(cone.len()));
        }
        for cone in &self.exp {
            rows.extend(cone.iter());
            cones.push(ExponentialConeT());
        }
        let m = rows.len();
        let mut a_trip = Vec::new();
        let mut b = Vec::with_capacity(m);
        for (r, (form, rhs)) in rows.iter().enumerate() {
            for &(c, v) in form {
                a_trip.push((r, c, v));
            }
            b.push(*rhs);
        }
        let a = csc(m, n, a_trip);
        let p = csc(n, n, self.p.clone());
        let settings = DefaultSettingsBuilder::default()
            .verbose(false)
            .max_iter(500)
            .tol_gap_abs(1e-13)
            .tol_gap_rel(1e-13)
            .tol_feas(1e-12)
            .tol_ktratio(1e-8)
            .max_threads(1)
            .build()
            .map_err(|_| Failure::Numerical)?;
        let mut solver = DefaultSolver::new(&p, &self.q, &a, &b, &cones, settings).map_err(|_| Failure::Numerical)?;
        solver.solve();
        match solver.solution.status {
            SolverStatus::Solved | SolverStatus::AlmostSolved => Ok(solver.solution.x.clone()),
            SolverStatus::PrimalInfeasible | SolverStatus::AlmostPrimalInfeasible => Err(Failure::Infeasible),
            SolverStatus::DualInfeasible | SolverStatus::AlmostDualInfeasible => Err(Failure::Unbounded),
            _ => Err(Failure::Numerical),
        }
    }
}

/// A compressed-sparse-column matrix from triplets, duplicates summed and zeros dropped.
fn csc(m: usize, n: usize, mut trip: Vec<(usize, usize, f64)>) -> CscMatrix<f64> {
    trip.sort_by_key(|&(r, c, _)| (c, r));
    let mut colptr = vec![0usize; n + 1];
    let mut rowval = Vec::with_capacity(trip.len());
    let mut nzval: Vec<f64> = Vec::with_capacity(trip.len());
    let mut last: Option<(usize, usize)> = None;
    let mut counts = vec![0usize; n];
    for (r, c, v) in trip {
        if last == Some((r, c)) {
            *nzval.last_mut().expect("a previous entry exists") += v;
            continue;
        }
        rowval.push(r);
        nzval.push(v);
        counts[c] += 1;
        last = Some((r, c));
    }
    // Drop exact zeros left by cancellation.
    let mut keep_row = Vec::with_capacity(rowval.len());
    let mut keep_val = Vec::with_capacity(nzval.len());
    let mut start = 0;
    for (c, &count) in counts.iter().enumerate() {
        let mut kept = 0;
        for k in start..start + count {
            if nzval[k] != 0.0 {
                keep_row.push(rowval[k]);
                keep_val.push(nzval[k]);
                kept += 1;
            }
        }
        colptr[c + 1] = colptr[c] + kept;
        start += count;
    }
    CscMatrix::new(m, n, colptr, keep_row, keep_val)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves_a_small_qp_with_an_equality_and_bounds() {
        // min x² + y² subject to x + y = 1, x ≤ 0.3: x = 0.3, y = 0.7.
        let mut p = Program::new(2);
        p.add_p(0, 0, 2.0);
        p.add_p(1, 1, 2.0);
        p.eq(vec![(0, 1.0), (1, 1.0)], 1.0);
        p.le(vec![(0, 1.0)], 0.3);
        let x = p.solve().unwrap();
        assert!((x[0] - 0.3).abs() < 1e-8 && (x[1] - 0.7).abs() < 1e-8, "{x:?}");
    }

    #[test]
    fn reports_infeasible_and_unbounded_programs() {
        let mut p = Program::new(1);
        p.le(vec![(0, 1.0)], -1.0);
        p.ge(vec![(0, 1.0)], 1.0);
        assert_eq!(p.solve(), Err(Failure::Infeasible));
        let mut p = Program::new(1);
        p.add_q(0, 1.0);
        assert_eq!(p.solve(), Err(Failure::Unbounded));
    }

    #[test]
    fn second_order_and_exponential_cones() {
        // max x + y subject to ‖(x, y)‖ ≤ 1: x = y = 1/√2.
        let mut p = Program::new(2);
        p.add_q(0, -1.0);
        p.add_q(1, -1.0);
        p.soc((vec![], 1.0), vec![(vec![(0, 1.0)], 0.0), (vec![(1, 1.0)], 0.0)]);
        let x = p.solve().unwrap();
        assert!((x[0] - std::f64::consts::FRAC_1_SQRT_2).abs() < 1e-7, "{x:?}");
        // max t subject to exp(t) ≤ 2: t = ln 2.
        let mut p = Program::new(1);
        p.add_q(0, -1.0);
        p.exp_cone((vec![(0, 1.0)], 0.0), (vec![], 1.0), (vec![], 2.0));
        let x = p.solve().unwrap();
        assert!((x[0] - 2f64.ln()).abs() < 1e-7, "{x:?}");
    }
}
