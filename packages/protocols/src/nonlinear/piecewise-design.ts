/**
 * Plaintext design of a piecewise-linear approximation in fixed point: knots, one line per segment,
 * and the exact ring coefficients that `piecewiseLinear` applies to the comparison bits. Pure
 * float64/BigInt arithmetic, deterministic, run once per (function, scales) and cached.
 *
 * Segments. Knots k_0 < … < k_m are fixed-point grid points in [lo, hi] (X = x·2^inF integers).
 * Segment j = [k_j, k_{j+1}) carries the line chord + δ, where δ minimises the weighted maximum of
 * |f − line| / tol over 97 sample points (the chord plus the best shift is the minimax line when f
 * is convex or concave on the segment). Greedy: each segment is made as long as possible while that
 * weighted error stays ≤ 1. Below k_0 and from k_m on, the caller's lines (or the end segments
 * extended) apply.
 *
 * Integer form at a group scale S (y ≈ Y/2^S):   Y = P + Q·X,   Q = round(slope·2^{S−inF}),
 *   P = round(y(k_j)·2^S) − Q·X_j   (BigInt, exact; centring at X_j keeps Q's rounding error to
 *   0.5·(X − X_j) units instead of 0.5·X).
 * Groups. |Y| must stay < 2^61 (truncation precondition) while tiny slopes need a high S; so
 * consecutive segments share a group with one scale S_g = 61 − ⌈log2 max|y|⌉ (over the group), and
 * a segment joins the current group only if S_g still leaves its rounding error
 * (0.5 + |δQ|·width)/2^{S_g} below 1/20 of its tolerance. Each group is truncated separately.
 * Outside the knot range the rounding error grows with |x| (end segments): the end segments are
 * rounded against `maxAbs`, the largest |x| the caller promises.
 */

export interface Line {
  /** y = y0 + slope·(x − x0) */
  readonly x0: number;
  readonly y0: number;
  readonly slope: number;
}

export interface PiecewiseTarget {
  /** Stable cache key: name plus every parameter that changes f. */
  readonly key: string;
  readonly f: (x: number) => number;
  /** Allowed approximation error at x (absolute); the fixed-point budget comes on top. */
  readonly tol: (x: number) => number;
  readonly lo: number;
  readonly hi: number;
  /** Largest |x| the protocol must handle (end segments are sized for it). */
  readonly maxAbs: number;
  readonly below?: Line;
  readonly above?: Line;
}

export interface PiecewiseDesign {
  readonly key: string;
  readonly inFracBits: number;
  readonly outFracBits: number;
  /** Thresholds C_0 < … < C_m (ring integers at inFracBits); b_c = [X ≥ C_c]. */
  readonly thresholds: readonly bigint[];
  /** Segment lines: index 0 is below C_0, index j + 1 is [C_j, C_{j+1}), last is ≥ C_m. */
  readonly lines: readonly Line[];
  /** Per group: its scale S and coefficients of Y_g = c0 + c1·X + Σ_c (p_c·b_c + q_c·(b_c·X)). */
  readonly groups: readonly PiecewiseGroup[];
  /** Comparison width k: every X − C_c lies in [−2^{k−1}, 2^{k−1}). */
  readonly compareBits: number;
}

export interface PiecewiseGroup {
  readonly scale: number;
  readonly c0: bigint;
  readonly c1: bigint;
  /** Per threshold c (length m + 1). */
  readonly p: BigInt64Array;
  readonly q: BigInt64Array;
}

const SAMPLES = 97;

/** Float evaluation of a design's lines (no fixed point), for tests and the error budget. */
export function evalLines(d: PiecewiseDesign, x: number): number {
  const X = x * 2 ** d.inFracBits;
  let j = 0;
  while (j < d.thresholds.length && X >= Number(d.thresholds[j])) j++;
  const l = d.lines[j];
  return l.y0 + l.slope * (x - l.x0);
}

/** Best line on [a, b]: chord plus the shift δ minimising max |f − line|/tol. Returns its weighted error. */
function fitSegment(t: PiecewiseTarget, a: number, b: number): { line: Line; err: number } {
  const fa = t.f(a), slope = (t.f(b) - fa) / (b - a);
  const e: number[] = [], w: number[] = [];
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < SAMPLES; i++) {
    const x = a + ((b - a) * i) / (SAMPLES - 1);
    const ei = t.f(x) - (fa + slope * (x - a));
    e.push(ei);
    w.push(1 / t.tol(x));
    if (ei < lo) lo = ei;
    if (ei > hi) hi = ei;
  }
  for (let it = 0; it < 50; it++) {
    const m1 = lo + (hi - lo) / 3, m2 = hi - (hi - lo) / 3;
    if (weightedMax(e, w, m1) <= weightedMax(e, w, m2)) hi = m2;
    else lo = m1;
  }
  const d = (lo + hi) / 2;
  return { line: { x0: a, y0: fa + d, slope }, err: weightedMax(e, w, d) };
}

/** max_i |e_i − d|·w_i */
function weightedMax(e: number[], w: number[], d: number): number {
  let m = 0;
  for (let i = 0; i < e.length; i++) {
    const v = (e[i] > d ? e[i] - d : d - e[i]) * w[i];
    if (v > m) m = v;
  }
  return m;
}

const cache = new Map<string, PiecewiseDesign>();

/** Design (or fetch from the cache) the approximation of `t` for these fixed-point scales. */
export function designPiecewise(t: PiecewiseTarget, inFracBits: number, outFracBits: number): PiecewiseDesign {
  const key = `${t.key}|${inFracBits}|${outFracBits}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const ulp = 2 ** -inFracBits;
  const grid = (x: number) => Math.round(x / ulp) * ulp;
  // knots, greedily
  const knots = [grid(t.lo)];
  const lines: Line[] = [];
  const hi = grid(t.hi);
  while (knots[knots.length - 1] < hi) {
    const a = knots[knots.length - 1];
    let good = a + ulp, bad = hi + ulp;
    if (fitSegment(t, a, hi).err <= 1) good = hi;
    else {
      for (let it = 0; it < 60 && bad - good > ulp; it++) {
        const mid = grid((good + bad) / 2);
        if (mid <= good || mid >= bad) break;
        if (fitSegment(t, a, mid).err <= 1) good = mid;
        else bad = mid;
      }
    }
    lines.push(fitSegment(t, a, good).line);
    knots.push(good);
  }
  const first = lines[0], last = lines[lines.length - 1];
  const allLines = [t.below ?? first, ...lines, t.above ?? last];
  // segment x-ranges (for magnitudes and rounding widths)
  const ranges: [number, number][] = allLines.map((_, j) => [
    j === 0 ? -t.maxAbs : knots[j - 1],
    j === allLines.length - 1 ? t.maxAbs : knots[j],
  ]);
  const groupOf = assignGroups(t, allLines, ranges, inFracBits);
  const thresholds = knots.map((k) => BigInt(Math.round(k / ulp)));
  const groups = groupOf.scales.map((S, g) => integerGroup(allLines, thresholds, groupOf.member, g, S, inFracBits));
  const maxX = Math.max(t.maxAbs, Math.abs(t.lo), Math.abs(t.hi)) * 2 ** inFracBits;
  const compareBits = Math.ceil(Math.log2(2 * maxX + 1)) + 1;
  const d: PiecewiseDesign = { key: t.key, inFracBits, outFracBits, thresholds, lines: allLines, groups, compareBits };
  cache.set(key, d);
  return d;
}

function maxAbsOnRange(l: Line, [a, b]: [number, number]): number {
  return Math.max(Math.abs(l.y0 + l.slope * (a - l.x0)), Math.abs(l.y0 + l.slope * (b - l.x0)), 2 ** -40);
}

function roundingError(l: Line, [a, b]: [number, number], S: number, inF: number): number {
  const q = l.slope * 2 ** (S - inF);
  const dq = Math.abs(q - Math.round(q));
  const width = Math.max(Math.abs(a - l.x0), Math.abs(b - l.x0)) * 2 ** inF;
  return (0.5 + dq * width) * 2 ** -S;
}

function assignGroups(t: PiecewiseTarget, lines: Line[], ranges: [number, number][], inF: number) {
  const member: number[] = [];
  const scales: number[] = [];
  let cur = -1, curMax = 0;
  for (let j = 0; j < lines.length; j++) {
    const ymax = maxAbsOnRange(lines[j], ranges[j]);
    const [a, b] = ranges[j];
    const tolMin = Math.min(t.tol(Math.max(a, t.lo)), t.tol(Math.min(b, t.hi)), t.tol(Math.min(Math.max((a + b) / 2, t.lo), t.hi)));
    const fits = (S: number) => roundingError(lines[j], ranges[j], S, inF) <= tolMin / 20;
    const joinMax = Math.max(curMax, ymax);
    const joinS = 61 - Math.ceil(Math.log2(joinMax));
    // the group's scale is set by its largest |y|; keep joining while everyone's rounding still fits
    if (cur >= 0 && fits(joinS) && member.every((g, i) => g !== cur || roundingError(lines[i], ranges[i], joinS, inF) <= minTol(t, ranges[i]) / 20)) {
      curMax = joinMax;
      scales[cur] = joinS;
    } else {
      cur = scales.length;
      curMax = ymax;
      scales.push(61 - Math.ceil(Math.log2(ymax)));
    }
    member.push(cur);
  }
  return { member, scales };
}

function minTol(t: PiecewiseTarget, [a, b]: [number, number]): number {
  const c = (x: number) => Math.min(Math.max(x, t.lo), t.hi);
  return Math.min(t.tol(c(a)), t.tol(c(b)), t.tol(c((a + b) / 2)));
}

/** Telescoped coefficients of group g: segment j contributes P_j + Q_j·X when it is active. */
function integerGroup(lines: Line[], thresholds: bigint[], member: number[], g: number, S: number, inF: number): PiecewiseGroup {
  const P: bigint[] = [], Q: bigint[] = [];
  for (let j = 0; j < lines.length; j++) {
    if (member[j] !== g) {
      P.push(0n);
      Q.push(0n);
      continue;
    }
    const l = lines[j];
    const q = BigInt(Math.round(l.slope * 2 ** (S - inF)));
    const X0 = BigInt(Math.round(l.x0 * 2 ** inF));
    const y0 = BigInt(Math.round(l.y0 * 2 ** S));
    P.push(y0 - q * X0);
    Q.push(q);
  }
  const m = thresholds.length;
  const p = new BigInt64Array(m), q = new BigInt64Array(m);
  for (let c = 0; c < m; c++) {
    p[c] = BigInt.asIntN(64, P[c + 1] - P[c]);
    q[c] = BigInt.asIntN(64, Q[c + 1] - Q[c]);
  }
  return { scale: S, c0: BigInt.asUintN(64, P[0]), c1: BigInt.asUintN(64, Q[0]), p, q };
}
