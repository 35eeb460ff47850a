/**
 * Attention-Gate on shares: the gate logits computed on shares from a secret normed input against
 * the fixed-point plaintext gate (close: truncations), then the kept sets on the SAME fixed-point
 * logits (the opened secure ones, injected into the plaintext policy) — every decoding step
 * (secure-cache-sim.ts) and every masked prefill row — for both count modes, and exact costs of
 * the prefill's running top-k masks and of the decoding evictions.
 */
import { decode } from '@mpcache/mpc-core';
import { beaverMatmulCost, dcfLessThanZeroCost, runBoth, sumCosts, topKCost, type LocalParties } from '@mpcache/protocols';
import { argminEvictionCost, gateLogitsCost, SecureAttentionGatePolicy } from '@mpcache/mpcache';
import { AttentionGatePolicy, gateKeptPositions, type AttentionGateOptions } from '../src/cache/attention-gate';
import { randomAttentionGateWeights } from '../src/cache/attention-gate-weights';
import { data, F, open, parties, shareGrid, sharedCache, view } from './secure-cache-helpers';
import { simulate } from './secure-cache-sim';
import { expectCosts } from './cost-helpers';
import { TEST_SEED } from './secure-helpers';

const lanes = 2, D = 16, budget = 8, n = 20, steps = 4, T = n + steps;
const model = { nLayers: 1, nHeads: lanes, seqLen: 128 };
const weights = randomAttentionGateWeights({ dModel: D, nHeads: lanes, nLayers: 1 }, 7, { gateHeads: 2, gateHeadDim: 4 });
const optsOf = (countMode: 'topk' | 'threshold', recentFraction = 0): AttentionGateOptions => ({ weights, countMode, threshold: 0, maskPrefill: true, recentFraction });

/** Secure gate logits of T positions (one observeInput call) opened, and the plaintext gate's. */
async function gateRun(p: LocalParties, label: string, opts: AttentionGateOptions, T = n + steps) {
  const xb = data(`${label}/xb`, T * D, -1, 1), xs = shareGrid(xb, [T, D], `${label}/xbs`);
  const pol = [new SecureAttentionGatePolicy(model, budget, opts), new SecureAttentionGatePolicy(model, budget, opts)] as const;
  await runBoth(p, (ctx) => pol[ctx.party].observeInput(ctx, 0, 0, xs[ctx.party]));
  const secure = Array.from({ length: lanes }, (_, h) => decode(open({ shape: [], data: pol[0].gateLogitShares(0, h, T) }, { shape: [], data: pol[1].gateLogitShares(0, h, T) }), F));
  const plain = new AttentionGatePolicy({ model, budget, fracBits: F }, opts);
  for (let t = 0; t < T; t++) plain.observeInput(0, t, xb.subarray(t * D, (t + 1) * D));
  return { pol, plain, secure, plainLogits: Array.from({ length: lanes }, (_, h) => Float64Array.from(plain.gateLogits(0, h).subarray(0, T))) };
}

describe(`secure Attention-Gate (SEED=${TEST_SEED})`, () => {
  it.each([['topk', 0], ['topk', 0.5], ['topk', 1], ['threshold', 0]] as const)('%s (recent %s): decoding kept sets = plaintext on the same logits; gate logits close', async (mode, rf) => {
    const p = parties(`ag/${mode}/${rf}`), opts = optsOf(mode, rf);
    const { pol, plain, secure, plainLogits } = await gateRun(p, `ag/${mode}/${rf}`, opts);
    for (let h = 0; h < lanes; h++) for (let t = 0; t < T; t++) expect(Math.abs(secure[h][t] - plainLogits[h][t])).toBeLessThan(0.02);
    for (let h = 0; h < lanes; h++) plain.gateLogits(0, h).set(secure[h]); // the same fixed-point logits on both sides
    const sim = await simulate(p, `ag/${mode}/${rf}/sim`, plain, [pol[0], pol[1]], lanes, n, steps);
    for (const s of sim.steps) expect(s.secure).toEqual(s.plain);
    if (mode === 'topk') expect(sim.steps[steps - 1].plain[0].length).toBe(budget);
  });

  it.each([['topk', 0.25], ['threshold', 0]] as const)('%s: masked prefill rows = plaintext per row; exact cost of the running top-k masks', async (mode, rf) => {
    const p = parties(`ag/pre/${mode}`), opts = optsOf(mode, rf);
    const { pol, secure } = await gateRun(p, `ag/pre/${mode}`, opts);
    const d = 4, zeros = new Float64Array(n * lanes * d), caches = await sharedCache(p, zeros, zeros, lanes, d, `ag/pre/${mode}/c`);
    const ones = shareGrid(new Array(lanes * n * n).fill(1), [lanes, n, n], 'ag/pre/ones'), q = shareGrid(new Array(lanes * n * d).fill(0), [lanes, n, d], 'ag/pre/q');
    const before = p.ctx.map((c) => c.ledger.snapshot());
    const back = await runBoth(p, async (ctx) => {
      const P = pol[ctx.party];
      P.beginPrefill(n);
      const sel = (await P.select(ctx, view(0, 0, n, q[ctx.party], caches[ctx.party], d)))!;
      return sel.gather(ctx, ones[ctx.party]);
    });
    const used = p.ctx.map((c, i) => { const s = c.ledger.snapshot(); return { rounds: s.rounds - before[i].rounds, bytesSent: s.bytesSent - before[i].bytesSent, offlineBytes: s.offlineBytes - before[i].offlineBytes }; });
    const v = decode(open(back[0], back[1]), F);
    for (let h = 0; h < lanes; h++) {
      for (let P = 0; P < n; P++) {
        const got = Array.from({ length: P }, (_, j) => j).filter((j) => v[(h * n + P) * n + j] === 1);
        const want = mode === 'topk' && P + 1 <= budget ? Array.from({ length: P }, (_, j) => j)
          : Array.from(gateKeptPositions(secure[h], P, mode, budget - 1, 0, Math.floor(budget * rf)));
        expect(got).toEqual(want);
      }
    }
    if (mode === 'topk') {
      const r = Math.floor(budget * rf), rows = Array.from({ length: n }, (_, P) => P).filter((P) => P + 1 > budget), splits = rows.map((P) => P - r + 1);
      const N = Math.max(...splits), pairs = lanes * N * (N - 1) / 2, counts = lanes * splits.reduce((a, b) => a + b, 0);
      const c1 = dcfLessThanZeroCost(pairs, 64), c2 = dcfLessThanZeroCost(counts, 32);
      for (const u of used) expect({ rounds: u.rounds, bytesSent: u.bytesSent }).toEqual({ rounds: 2, bytesSent: c1.bytesSent + c2.bytesSent });
      expect(used[0].offlineBytes + used[1].offlineBytes).toBe(c1.offlineBytes + c2.offlineBytes);
    } else {
      for (const u of used) expect(u).toEqual({ rounds: 0, bytesSent: 0, offlineBytes: 0 });
    }
  });

  it.each(['topk', 'threshold'] as const)('%s: the gate logits (observeInput) of a prompt, then of one more token: exact cost on both parties', async (mode) => {
    const p = parties(`ag/gate-cost/${mode}`), opts = optsOf(mode);
    const pol = [new SecureAttentionGatePolicy(model, budget, opts), new SecureAttentionGatePolicy(model, budget, opts)] as const;
    const shape = { dModel: D, nHeads: lanes, gateHeads: weights.gateHeads, gateHeadDim: weights.gateHeadDim };
    for (const [start, rows] of [[0, n], [n, 1]] as const) {
      const xs = shareGrid(data(`ag/gate-cost/${mode}/${start}`, rows * D, -1, 1), [rows, D], `ag/gate-cost/${mode}/s${start}`);
      const before = p.ctx.map((c) => c.ledger.get('attention gate'));
      await runBoth(p, (ctx) => pol[ctx.party].observeInput(ctx, 0, start, xs[ctx.party]));
      const used = p.ctx.map((c, i) => { const a = c.ledger.get('attention gate'), b = before[i]; return { ...a, rounds: a.rounds - b.rounds, bytesSent: a.bytesSent - b.bytesSent, offlineBytes: a.offlineBytes - b.offlineBytes }; });
      // the gate network; threshold mode also compares every logit with the threshold (one LTZ each)
      const gate = gateLogitsCost(rows, shape, F, start, start === 0);
      if (start === 0) expect(gate.rounds - gateLogitsCost(rows, shape, F, 0, false).rounds).toBe(2); // header: masking wqkv, then wg
      expectCosts(used, mode === 'threshold' ? sumCosts([gate, dcfLessThanZeroCost(rows * lanes)]) : gate);
    }
  });

  it.each([
    // prompt rows, steps before the turn, turn rows, recent fraction, masked prefill
    [n, 2, 5, 0, true], [n, 2, 5, 0.25, true], [n, 2, 5, 1, true],
    [n, 0, 4, 0.5, true],  // the turn right after a masked prompt: no running state yet
    [12, 0, 6, 0.5, false], // … after a dense prompt: the turn's first row drops several at once
    [5, 1, 7, 0, false],   // a short prompt: the turn's first rows are within the budget
  ] as const)('topk: a chat turn in one pass gives every row the kept set of its step (prompt %s, %s steps, turn of %s, recent %s, masked prefill %s)', async (prompt, after, rows, rf, maskPrefill) => {
    const label = `ag/turn/${prompt}/${after}/${rows}/${rf}`, p = parties(label), opts = { ...optsOf('topk', rf), maskPrefill };
    const { pol, plain, secure } = await gateRun(p, label, opts, prompt + steps + rows);
    for (let h = 0; h < lanes; h++) plain.gateLogits(0, h).set(secure[h]);
    expect(pol[0].multiRowSteps).toBe(true);
    const sim = await simulate(p, `${label}/sim`, plain, [pol[0], pol[1]], lanes, prompt, steps, { turn: { after, rows } });
    expect(sim.steps).toHaveLength(steps + rows);
    for (const s of sim.steps) expect(s.secure).toEqual(s.plain);
    const evicting = sim.steps.filter((s) => s.plain[0].length === budget).length, lastPos = prompt + steps + rows - 1;
    expect(evicting).toBe(Math.min(steps + rows, lastPos + 1 - budget + 1)); // every row past the budget attends exactly it
  });

  it('topk: a turn\'s running top-k (compact, rank, map back): exact cost, between the steps\' argmins', async () => {
    const rows = 5, p = parties('ag/turn-cost'), opts = optsOf('topk');
    const { pol, plain, secure } = await gateRun(p, 'ag/turn-cost', opts, n + steps + rows);
    pol.forEach((x) => { x.compactEvery = 0; }); // masking only (no compaction: the prompt's rows stay)
    for (let h = 0; h < lanes; h++) plain.gateLogits(0, h).set(secure[h]);
    const sim = await simulate(p, 'ag/turn-cost/sim', plain, [pol[0], pol[1]], lanes, n, steps, { turn: { after: 2, rows } });
    for (const s of sim.steps) expect(s.secure).toEqual(s.plain);
    const log = pol[0].evictionLog, used = p.ctx.map((c) => c.ledger.get('attention gate evict'));
    expect(log.map((e) => [e.kind, e.end])).toEqual([['topk', n], ['argmin', n + 1], ['topk', n + 2 + rows - 1], ['argmin', n + 2 + rows], ['argmin', n + 3 + rows]]);
    // steps at n, n + 1 (recent window 1: candidates [0, pos)); the turn's rows n + 2 … n + 6: the
    // keep alive of [0, N0 = n + 1) compacted by one topK with one-hot rows, the keep + rows keys
    // compared pairwise, [rank < keep] per (row, candidate), one product back to slots; then steps at n + 7, n + 8
    const keep = budget - 1, N0 = n + 1, M = keep + rows, counts = lanes * (rows * keep + (rows * (rows + 1)) / 2);
    const first = topKCost(lanes, n, keep, log[0].steps!, { mask: true }), turn = topKCost(lanes, N0, keep, log[2].steps!, { oneHot: true });
    const rest = sumCosts([dcfLessThanZeroCost(lanes * M * (M - 1) / 2, 64), dcfLessThanZeroCost(counts, 32), beaverMatmulCost([lanes, rows, keep], [lanes, keep, N0]),
      ...[log[1], log[3], log[4]].map((e) => argminEvictionCost(lanes, e.end))]);
    const rounds = first.rounds + turn.rounds + rest.rounds, offline = first.offlineBytes + turn.offlineBytes + rest.offlineBytes;
    used.forEach((u, i) => expect({ rounds: u.rounds, bytesSent: u.bytesSent }).toEqual({ rounds, bytesSent: first.bytesSentPerParty[i] + turn.bytesSentPerParty[i] + rest.bytesSent }));
    expect(used[0].offlineBytes + used[1].offlineBytes).toBe(offline);
  });

  it.each([[0, 2, 0.25], [1, 3, 0], [2, 1, 0.5]] as const)('topk with compaction (turn after %s steps, every %s calls, recent %s): the prompt keeps budget − 1 rows, dead rows are dropped, kept sets = plaintext', async (after, every, rf) => {
    const rows = 5, label = `ag/compact/${after}/${every}`, p = parties(label), opts = optsOf('topk', rf);
    const { pol, plain, secure } = await gateRun(p, label, opts, n + steps + rows);
    for (let h = 0; h < lanes; h++) plain.gateLogits(0, h).set(secure[h]);
    pol.forEach((x) => { x.compactEvery = every; });
    const sim = await simulate(p, `${label}/sim`, plain, [pol[0], pol[1]], lanes, n, steps, { turn: { after, rows } });
    for (const s of sim.steps) expect(s.secure).toEqual(s.plain);
    expect(pol[0].lastCompaction[0]).not.toBeNull();
    // every row the policy holds is either kept or one of the dead dropped at the next compaction
    const cache = (pol[0] as unknown as { caches: { length: number }[] }).caches[0];
    expect(cache.length).toBeLessThanOrEqual(budget + every * Math.max(1, rows));
    expect(cache.length).toBeLessThan(n + steps + rows);
  });

  it('topk decoding: the first step after a prompt is one topK mask, then one argmin per step: exact cost', async () => {
    const p = parties('ag/cost'), opts = optsOf('topk');
    const { pol, plain, secure } = await gateRun(p, 'ag/cost', opts);
    pol.forEach((x) => { x.compactEvery = 0; }); // masking only (no compaction: the prompt's rows stay)
    for (let h = 0; h < lanes; h++) plain.gateLogits(0, h).set(secure[h]);
    await simulate(p, 'ag/cost/sim', plain, [pol[0], pol[1]], lanes, n, steps);
    const log = pol[0].evictionLog, used = p.ctx.map((c) => c.ledger.get('attention gate evict'));
    expect(log.map((e) => e.kind)).toEqual(['topk', ...new Array(steps - 1).fill('argmin')]);
    // step s at position n + s (recent window 1): candidates [0, n + s); first keep budget − 1 by one topK mask
    const first = topKCost(lanes, n, budget - 1, log[0].steps!, { mask: true });
    let rounds = first.rounds, bytes = first.bytesSentPerParty.slice(), offline = first.offlineBytes;
    for (let s = 1; s < steps; s++) {
      const a = argminEvictionCost(lanes, n + s);
      rounds += a.rounds; bytes = bytes.map((b) => b + a.bytesSent); offline += a.offlineBytes;
    }
    used.forEach((u, i) => expect({ rounds: u.rounds, bytesSent: u.bytesSent }).toEqual({ rounds, bytesSent: bytes[i] }));
    expect(used[0].offlineBytes + used[1].offlineBytes).toBe(offline);
  });
});
