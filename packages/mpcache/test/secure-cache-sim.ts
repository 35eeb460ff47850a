/**
 * A tiny attention simulator that drives a plaintext KVCachePolicy and its secure twin with the SAME
 * fixed-point probabilities, step by step, and compares the kept sets: the plaintext attendMask vs
 * the positions of the secure cache's attended slots (alive bits or selected rows, opened here).
 * Each cached row's first key channel holds its position, so slots map back to positions.
 */
import { runBoth, type LocalParties } from '@mpcache/protocols';
import type { KVCachePolicy, SecureKVCachePolicy, SecureLayerCache, SecureAttentionSelection } from '@mpcache/mpcache';
import { F, data, open, openReal, shareGrid, sharedCache, view } from './secure-cache-helpers';

export interface SimResult {
  /** Per decoding step and lane: attended positions (plaintext), attended positions (secure). */
  readonly steps: { plain: number[][]; secure: number[][] }[];
}

const d = 4;

function keyRow(pos: number, h: number): number[] {
  return [pos, h, (pos % 7) / 8, -0.5];
}

/** The position each cached slot holds, per lane (the first key channel). */
function slotPositions(caches: [SecureLayerCache, SecureLayerCache], lanes: number): number[][] {
  const n = caches[0].length, slotPos: number[][] = [];
  for (let h = 0; h < lanes; h++) {
    const k = openReal({ shape: [], data: caches[0].keys.laneShare(h) }, { shape: [], data: caches[1].keys.laneShare(h) });
    slotPos.push(Array.from({ length: n }, (_, j) => k[j * d]));
  }
  return slotPos;
}

/**
 * Positions attended through a selection by each of `rows` queries (the last `rows` slots, in
 * order; a query sees no later one: attention's causal mask): [query][lane], ascending.
 */
async function attended(p: LocalParties, caches: [SecureLayerCache, SecureLayerCache], sel: [SecureAttentionSelection | null, SecureAttentionSelection | null], lanes: number, rows = 1): Promise<number[][][]> {
  const n = caches[0].length, slotPos = slotPositions(caches, lanes), first = n - rows;
  const own = (h: number, t: number) => slotPos[h][first + t];
  let v: Float64Array | null = null;
  if (sel[0]) {
    // logits = 1 everywhere: kept entries come back 1 (DeadSlot: 1 − GAP on dead slots)
    const ones = shareGrid(new Array(lanes * rows * n).fill(1), [lanes, rows, n], 'sim/ones');
    const back = await runBoth(p, async (ctx) => {
      const s = sel[ctx.party]!;
      return s.scatter(ctx, await s.gather(ctx, ones[ctx.party]));
    });
    v = openReal(back[0], back[1]);
  }
  // no selection: every slot (compactions without originalOrder, SnapKV, shuffle slots: sorted)
  return Array.from({ length: rows }, (_, t) => slotPos.map((row, h) =>
    row.filter((q, j) => q <= own(h, t) && (!v || v[(h * rows + t) * n + j] === 1)).sort((a, b) => a - b)));
}

/**
 * Prefill n positions (probabilities causal on the grid), then `steps` decoding steps, for a
 * one-layer model with `lanes` heads. `zeroBelow`: positions below it get probability 0 throughout
 * (e.g. sinks that would lose every ranking without their bonus).
 */
export async function simulate(
  p: LocalParties, label: string, plain: KVCachePolicy, secure: [SecureKVCachePolicy, SecureKVCachePolicy], lanes: number, n: number, steps: number,
  { zeroBelow = 0, turn }: { zeroBelow?: number; turn?: { after: number; rows: number } } = {},
): Promise<SimResult> {
  const keys: number[] = [];
  for (let t = 0; t < n; t++) for (let h = 0; h < lanes; h++) keys.push(...keyRow(t, h));
  const caches = await sharedCache(p, Float64Array.from(keys), Float64Array.from(keys), lanes, d, `${label}/cache`);
  const dummyQ = shareGrid(new Array(lanes * d).fill(0), [lanes, n, d], 'sim/q');
  const pv = (pos: number, h: number) => ({
    layer: 0, head: h, kvHead: h, pos, q: new Float64Array(d), keyCache: new Float64Array((pos + 1) * lanes * d),
    valueCache: new Float64Array((pos + 1) * lanes * d), headDim: d, kvDim: lanes * d,
  });
  // prefill: plaintext per position and head; secure one batched call
  const probs = data(`${label}/pp`, lanes * n * n, 0, 0.25, 5);
  for (let h = 0; h < lanes; h++) for (let t = 0; t < n; t++) for (let j = 0; j < n; j++) if (j > t || j < zeroBelow) probs[(h * n + t) * n + j] = 0;
  plain.beginPrefill?.(n);
  for (let t = 0; t < n; t++) for (let h = 0; h < lanes; h++) {
    plain.attendMask(pv(t, h));
    plain.observe(pv(t, h), probs.subarray((h * n + t) * n, (h * n + t) * n + t + 1));
  }
  plain.endPrefill?.(n);
  const ps = shareGrid(probs, [lanes, n, n], `${label}/pps`);
  await runBoth(p, async (ctx) => {
    const P = secure[ctx.party], v = view(0, 0, n, dummyQ[ctx.party], caches[ctx.party], d);
    P.beginPrefill?.(n);
    await P.select(ctx, v, ps[ctx.party]);
    await P.observe(ctx, v, ps[ctx.party]);
    await P.endPrefill?.(ctx, n);
  });
  const out: SimResult['steps'] = [];
  let shift = 0; // positions the turn took
  for (let s = 0; s < steps; s++) {
    if (turn && s === turn.after) {
      out.push(...(await simulateTurn(p, `${label}/turn`, plain, secure, caches, lanes, n + s, turn.rows, pv)));
      shift = turn.rows;
    }
    const pos = n + s + shift, row: number[] = [];
    for (let h = 0; h < lanes; h++) row.push(...keyRow(pos, h));
    const nk = shareGrid(row, [lanes, 1, d], `${label}/k${s}`);
    const q1 = shareGrid(new Array(lanes * d).fill(0), [lanes, 1, d], 'sim/q1');
    await runBoth(p, (ctx) => caches[ctx.party].appendRows(ctx, { shape: [lanes, 1, d], data: nk[ctx.party].data }, { shape: [lanes, 1, d], data: nk[ctx.party].data }));
    const kv = caches[0].length, z = shareGrid(new Array(lanes * kv).fill(0), [lanes, 1, kv], 'sim/z');
    const sel = await runBoth(p, (ctx) => secure[ctx.party].select(ctx, view(0, pos, 1, q1[ctx.party], caches[ctx.party], d), z[ctx.party]));
    const [sec] = await attended(p, caches, sel, lanes);
    const plainPos: number[][] = [];
    const rowProbs = data(`${label}/row${s}`, lanes * (pos + 1), 0, 0.25, 5);
    for (let h = 0; h < lanes; h++) rowProbs.fill(0, h * (pos + 1), h * (pos + 1) + Math.min(zeroBelow, pos + 1));
    for (let h = 0; h < lanes; h++) plainPos.push(plainQuery(plain, pv, pos, h, rowProbs.subarray(h * (pos + 1), (h + 1) * (pos + 1))));
    out.push({ plain: plainPos, secure: sec });
    // the same probabilities on the secure slots (dead or unattended slots: 0)
    const slotProbs = new Array(lanes * kv).fill(0);
    for (let h = 0; h < lanes; h++) {
      const k = openReal({ shape: [], data: caches[0].keys.laneShare(h) }, { shape: [], data: caches[1].keys.laneShare(h) });
      for (let j = 0; j < kv; j++) if (sec[h].includes(k[j * d])) slotProbs[h * kv + j] = rowProbs[h * (pos + 1) + k[j * d]];
    }
    const sp = shareGrid(slotProbs, [lanes, 1, kv], `${label}/sp${s}`);
    await runBoth(p, (ctx) => secure[ctx.party].observe(ctx, view(0, pos, 1, q1[ctx.party], caches[ctx.party], d), sp[ctx.party]));
  }
  void open; void F;
  return { steps: out };
}

type PlainView = (pos: number, h: number) => Parameters<KVCachePolicy['attendMask']>[0];

/** The plaintext policy's query `pos` in head h: its attended positions; it observes `pr` zeroed elsewhere. */
function plainQuery(plain: KVCachePolicy, pv: PlainView, pos: number, h: number, pr: Float64Array): number[] {
  const m = plain.attendMask(pv(pos, h));
  const kept = Array.from({ length: pos + 1 }, (_, j) => j).filter((j) => j === pos || !m || m[j] === 1);
  for (let j = 0; j <= pos; j++) if (!kept.includes(j)) pr[j] = 0;
  plain.observe(pv(pos, h), pr);
  return kept;
}

/**
 * A chat's turn of `rows` positions from pos0 in one secure pass (the plaintext between beginTurn and
 * endTurn, position by position): per query row, the attended positions of both; then both observe
 * the same probabilities (0 where a query does not attend).
 */
async function simulateTurn(
  p: LocalParties, label: string, plain: KVCachePolicy, secure: [SecureKVCachePolicy, SecureKVCachePolicy], caches: [SecureLayerCache, SecureLayerCache],
  lanes: number, pos0: number, rows: number, pv: PlainView,
): Promise<SimResult['steps']> {
  const keys: number[] = [];
  for (let h = 0; h < lanes; h++) for (let t = 0; t < rows; t++) keys.push(...keyRow(pos0 + t, h));
  const nk = shareGrid(keys, [lanes, rows, d], `${label}/k`), q = shareGrid(new Array(lanes * rows * d).fill(0), [lanes, rows, d], 'sim/qt');
  await runBoth(p, (ctx) => caches[ctx.party].appendRows(ctx, nk[ctx.party], nk[ctx.party]));
  const kv = caches[0].length, z = shareGrid(new Array(lanes * rows * kv).fill(0), [lanes, rows, kv], 'sim/zt');
  const sel = await runBoth(p, (ctx) => secure[ctx.party].select(ctx, view(0, pos0, rows, q[ctx.party], caches[ctx.party], d), z[ctx.party]));
  const sec = await attended(p, caches, sel, lanes, rows);
  const out: SimResult['steps'] = [], slotPos = slotPositions(caches, lanes), slotProbs = new Array(lanes * rows * kv).fill(0);
  plain.beginTurn?.(rows);
  for (let t = 0; t < rows; t++) {
    const pos = pos0 + t, plainPos: number[][] = [], rowProbs = data(`${label}/row${t}`, lanes * (pos + 1), 0, 0.25, 5);
    for (let h = 0; h < lanes; h++) {
      const pr = rowProbs.subarray(h * (pos + 1), (h + 1) * (pos + 1));
      plainPos.push(plainQuery(plain, pv, pos, h, pr));
      for (let j = 0; j < kv; j++) if (sec[t][h].includes(slotPos[h][j])) slotProbs[(h * rows + t) * kv + j] = pr[slotPos[h][j]];
    }
    out.push({ plain: plainPos, secure: sec[t] });
  }
  plain.endTurn?.(rows);
  const sp = shareGrid(slotProbs, [lanes, rows, kv], `${label}/sp`);
  await runBoth(p, (ctx) => secure[ctx.party].observe(ctx, view(0, pos0, rows, q[ctx.party], caches[ctx.party], d), sp[ctx.party]));
  return out;
}
