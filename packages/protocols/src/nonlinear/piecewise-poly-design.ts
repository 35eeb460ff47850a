/**
 * Plaintext design of a piecewise-cubic approximation of an activation f with f(x) → 0 for x → −∞
 * and f(x) → x for x → +∞ (GeLU, SiLU), in the form the protocol evaluates:
 *
 *     f(x) ≈ [x ≥ 0]·x + R(x),   R = Σ over segments of [x in segment]·P_seg(x)
 *
 * R is the residual f − relu: small (|R| < 0.3) and ≈ 0 for |x| ≥ a, so one fixed-point scale 2^60
 * holds every segment's cubic with ≥ 24 fractional bits in the cubic coefficient (at fracBits 12).
 *
 * Segments. Knots −a = k_0 < … < 0 < … < k_m = a, chosen greedily (each segment as long as possible)
 * so that its integer cubic (below), fitted by Lawson's iteration (weighted least squares → minimax)
 * on the segment EXTENDED by the comparison's fuzz δ on both sides, stays within the fit tolerance
 * there, measured with the integer coefficients; a is the
 * smallest grid point with |R| ≤ tol/4 beyond it. The fuzz: the protocol compares trunc(x, f − 4),
 * sharp only to δ = 1/16, so near a knot either neighbour may be active; both are accurate there.
 * Left of 0 a segment approximates f (its linear part is 0), right of 0 it approximates f − x.
 *
 * Integer form. Segment j: P_j(X) = Σ_i K_ji·(X − X_j)^i, X = x·2^f, X_j its centre on the grid,
 * K_ji = round(a_ji·2^(60 − i·f)), the cubic's first and the lower ones refitted to what its rounding
 * leaves (integerPiece). The protocol sums, per threshold c, b_c·(P_{c+1} − P_c) with the
 * difference re-centred exactly (BigInt Taylor shift) at the knot; the telescoped sum equals the
 * active P_j exactly in Z_2^64. The design's error is the largest of its segments' float64 checks
 * (integer coefficients, each segment over its extended interval, 40 points per 1/16); above tol the
 * fit tolerance is lowered and the knots are chosen again.
 */

export interface ActivationTarget {
  /** Stable cache key: name plus every parameter that changes f. */
  readonly key: string;
  readonly f: (x: number) => number;
  /** Allowed approximation error (abs); the protocol adds ≤ 1 ulp of truncation. */
  readonly tol: number;
}

export interface PolyPiece {
  /** Coefficients of (X − center)^i, i = 0..3, at scale 2^scale. */
  readonly K: readonly bigint[];
  readonly center: bigint;
}

export interface PiecewisePolyDesign {
  readonly key: string;
  readonly fracBits: number;
  /** The comparisons see trunc(x, cmpShift). */
  readonly cmpShift: number;
  /** Knots (real) and thresholds (at the comparison scale). */
  readonly knots: readonly number[];
  readonly thresholds: readonly bigint[];
  /** Index of the threshold at 0 (its bit also selects the linear part x). */
  readonly zeroIndex: number;
  /** b_c·deltas[c] summed gives R at 2^scale. */
  readonly deltas: readonly PolyPiece[];
  readonly scale: number;
  /** Largest design error found by the float64 check. */
  readonly checkedError: number;
}

export const PIECE_DEGREE = 3;
const SCALE = 60, FUZZ_BITS = 4, FIT_POINTS = 240;

/**
 * Lawson minimax fit of a degree-d polynomial to g on [a, b] (weighted least squares, reweighted by the
 * error; `relative` minimises |p − g|/|g|), in u = (x − c)/h; returns the coefficients in (x − c).
 */
export function fitPoly(g: (x: number) => number, a: number, b: number, c: number, d = PIECE_DEGREE, relative = false): { coef: number[]; err: number } {
  const h = Math.max(Math.abs(a - c), Math.abs(b - c)) || 1, N = FIT_POINTS, m = d + 1;
  const us: number[] = [], ys: number[] = [], sc: number[] = [], w = new Float64Array(N).fill(1 / N);
  for (let i = 0; i < N; i++) {
    const x = a + ((b - a) * i) / (N - 1);
    us.push((x - c) / h);
    ys.push(g(x));
    sc.push(relative ? 1 / Math.abs(g(x)) : 1);
  }
  // The basis values (u^r · scale) do not change across iterations: compute them once
  // (this loop was ~18 s for SiLU at tol 3e-4 when it allocated them per point and iteration).
  const P = new Float64Array(N * m);
  for (let i = 0; i < N; i++) for (let r = 0; r < m; r++) P[i * m + r] = us[i] ** r * sc[i];
  let beta: number[] = [], err = Infinity;
  for (let it = 0; it < 60; it++) {
    const M = Array.from({ length: m }, () => new Array<number>(m + 1).fill(0));
    for (let i = 0; i < N; i++) {
      const o = i * m, wi = w[i], wy = wi * ys[i] * sc[i];
      for (let r = 0; r < m; r++) {
        const pr = P[o + r], row = M[r];
        for (let s = 0; s < m; s++) row[s] += wi * pr * P[o + s];
        row[m] += pr * wy;
      }
    }
    beta = solve(M);
    let sum = 0;
    err = 0;
    for (let i = 0; i < N; i++) {
      let v = 0;
      for (let r = d; r >= 0; r--) v = v * us[i] + beta[r];
      const e = Math.abs(v - ys[i]) * sc[i];
      err = Math.max(err, e);
      w[i] *= e + 1e-300;
      sum += w[i];
    }
    for (let i = 0; i < N; i++) w[i] /= sum;
  }
  return { coef: beta.map((v, i) => v / h ** i), err };
}

/** Gauss–Jordan with partial pivoting on an m × (m + 1) augmented matrix. */
function solve(M: number[][]): number[] {
  const m = M.length;
  for (let col = 0; col < m; col++) {
    let piv = col;
    for (let r = col + 1; r < m; r++) if (Math.abs(M[r][col]) > Math.abs(M[piv][col])) piv = r;
    [M[col], M[piv]] = [M[piv], M[col]];
    for (let r = 0; r < m; r++) {
      if (r === col || M[col][col] === 0) continue;
      const q = M[r][col] / M[col][col];
      for (let s = col; s <= m; s++) M[r][s] -= q * M[col][s];
    }
  }
  return M.map((row, i) => (row[i] === 0 ? 0 : row[m] / row[i]));
}

/** Greedy knots on [lo, hi] for g: each segment as long as its integer piece stays within tolFit. */
function greedyKnots(g: (x: number) => number, lo: number, hi: number, delta: number, f: number, tolFit: number): number[] {
  const grid = (x: number) => Math.round(x * 2 ** FUZZ_BITS) / 2 ** FUZZ_BITS;
  const knots = [lo];
  const ok = (a: number, b: number) => integerPiece(g, a, b, delta, f).err <= tolFit;
  while (knots[knots.length - 1] < hi) {
    const a = knots[knots.length - 1];
    let good = Math.min(hi, a + delta), bad = hi + delta;
    if (ok(a, hi)) good = hi;
    else {
      while (bad - good > delta) {
        const mid = grid((good + bad) / 2);
        if (mid <= good || mid >= bad) break;
        if (ok(a, mid)) good = mid;
        else bad = mid;
      }
    }
    knots.push(good);
  }
  return knots;
}

/**
 * The integer cubic for g on the segment [lo, hi] extended by δ, centred on the grid point nearest its
 * middle, and its error measured in float64 with the integer coefficients (40 points per δ, inputs
 * on the 2^−f grid). The cubic coefficient is rounded first and the lower ones refitted to what it
 * leaves, so its rounding (resolution 2^(3f − 60): 2^−12 at f = 16) costs only what a quadratic
 * cannot absorb (¼ of it, Chebyshev) — at f = 16 that halves SiLU's knots.
 */
function integerPiece(g: (x: number) => number, lo: number, hi: number, delta: number, f: number): { piece: PolyPiece; err: number } {
  const center = BigInt(Math.round(((lo + hi) / 2) * 2 ** f)), c = Number(center) / 2 ** f, a = lo - delta, b = hi + delta;
  const cubic = fitPoly(g, a, b, c).coef[PIECE_DEGREE];
  const K3 = BigInt(Math.round(cubic * 2 ** (SCALE - PIECE_DEGREE * f))), a3 = Number(K3) / 2 ** (SCALE - PIECE_DEGREE * f);
  const lower = fitPoly((x) => g(x) - a3 * (x - c) ** PIECE_DEGREE, a, b, c, PIECE_DEGREE - 1).coef;
  const K = [...lower.map((v, i) => BigInt(Math.round(v * 2 ** (SCALE - i * f)))), K3];
  const Kn = K.map(Number);
  let err = 0;
  for (let x = a; x <= b; x += delta / 40) {
    const X = Math.round(x * 2 ** f), u = X - Number(center);
    const y = Kn.reduceRight((acc, k) => acc * u + k, 0) / 2 ** SCALE;
    err = Math.max(err, Math.abs(y - g(X / 2 ** f)));
  }
  return { piece: { K, center }, err };
}

/** Exact integer Taylor shift: coefficients of P in (X − to) from those in (X − from). */
export function recenter(K: readonly bigint[], from: bigint, to: bigint): bigint[] {
  const d = to - from, out = K.map(() => 0n);
  for (let i = 0; i < K.length; i++) {
    let binom = 1n, pw = 1n; // C(i, j)·d^(i−j), j = i, i−1, …
    for (let j = i; j >= 0; j--) {
      out[j] += K[i] * binom * pw;
      binom = (binom * BigInt(j)) / BigInt(i - j + 1);
      pw *= d;
    }
  }
  return out;
}

const cache = new Map<string, PiecewisePolyDesign>();

/** Design (or fetch) the piecewise-cubic approximation of t at fracBits f. */
export function designPiecewisePoly(t: ActivationTarget, f: number): PiecewisePolyDesign {
  const key = `${t.key}|${t.tol}|${f}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const cmpShift = Math.max(0, f - FUZZ_BITS), delta = 2 ** -(f - cmpShift), step = 2 ** -FUZZ_BITS;
  const R = (x: number) => t.f(x) - Math.max(x, 0);
  let a = step;
  for (;; a += step) {
    let tail = 0;
    for (let x = a; x < a + 40; x += 0.25) tail = Math.max(tail, Math.abs(R(x)), Math.abs(R(-x)));
    if (tail <= t.tol / 4) break;
  }
  const left = (x: number) => t.f(x), right = (x: number) => t.f(x) - x;
  for (let tolFit = 0.9 * t.tol; ; tolFit *= 0.7) {
    const knots = [...greedyKnots(left, -a, 0, delta, f, tolFit), ...greedyKnots(right, 0, a, delta, f, tolFit).slice(1)];
    const zeroIndex = knots.indexOf(0);
    // integer pieces: segment j (j = 1..m) between knots[j−1] and knots[j]; pieces 0 and m + 1 are 0
    const X = (x: number) => BigInt(Math.round(x * 2 ** f));
    const pieces: PolyPiece[] = [{ K: [0n, 0n, 0n, 0n], center: 0n }];
    let checked = 0;
    for (let j = 1; j < knots.length; j++) {
      const { piece, err } = integerPiece(j <= zeroIndex ? left : right, knots[j - 1], knots[j], delta, f);
      pieces.push(piece);
      checked = Math.max(checked, err);
    }
    pieces.push({ K: [0n, 0n, 0n, 0n], center: 0n });
    if (checked > t.tol) continue;
    const deltas = knots.map((k, c) => {
      const at = X(k), hiP = recenter(pieces[c + 1].K, pieces[c + 1].center, at), loP = recenter(pieces[c].K, pieces[c].center, at);
      return { K: hiP.map((v, i) => v - loP[i]), center: at };
    });
    const thresholds = knots.map((k) => BigInt(Math.round(k * 2 ** (f - cmpShift))));
    const d: PiecewisePolyDesign = { key: t.key, fracBits: f, cmpShift, knots, thresholds, zeroIndex, deltas, scale: SCALE, checkedError: checked };
    cache.set(key, d);
    return d;
  }
}

/** Comparison width for inputs with |x| ≤ maxAbs (trunc(x, cmpShift) − C_c must fit k signed bits). */
export function piecewisePolyCompareBits(d: PiecewisePolyDesign, maxAbs: number): number {
  const span = (maxAbs + Math.abs(d.knots[0]) + 1) * 2 ** (d.fracBits - d.cmpShift);
  return Math.ceil(Math.log2(span)) + 1;
}
