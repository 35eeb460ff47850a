import {
  ChannelClosedError,
  concatRows,
  Ledger,
  MemoryChannel,
  reconstruct,
  ShapeError,
  share,
  sizeOf,
  tensor,
  type PartyId,
  type RingTensor,
} from '@mpcache/mpc-core';
import {
  appendMaskedRows,
  ChannelDealerLink,
  correlationRegistry,
  CorrelationSource,
  DealerSession,
  makePartyContext,
  maskedProductTriples,
  operandRowMasks,
  serveDealerSession,
  localParties,
  maskedMatmul,
  maskedMatmulCost,
  maskOperand,
  maskOperandCost,
  runBoth,
  type LocalParties,
  type MaskedOperand,
} from '@mpcache/protocols';
import { expectScopeCost } from './cost-helpers';
import { testPrg, TEST_SEED } from './helpers';
import { byteChiSquare, CHI2_255_LIMIT, fixedSeeds, p0ErrorWhenPeerCloses, refMatmul } from './linear-helpers';

const rand = (label: string, shape: number[]): RingTensor => tensor(shape, testPrg(label).words(sizeOf(shape)));

/** Share W and mask it on both parties. */
async function masked(parties: LocalParties, w: RingTensor): Promise<[MaskedOperand, MaskedOperand]> {
  const ws = share(w);
  return runBoth(parties, (ctx) => maskOperand(ctx, ws[ctx.party]));
}

async function product(parties: LocalParties, x: RingTensor, ops: [MaskedOperand, MaskedOperand], transpose = false, append?: RingTensor) {
  const xs = share(x), as = append && share(append);
  const [z0, z1] = await runBoth(parties, (ctx) =>
    maskedMatmul(ctx, xs[ctx.party], ops[ctx.party], { transpose, append: as?.[ctx.party] }),
  );
  return { z: reconstruct(z0, z1), z0, z1 };
}

/** Rows of lane-major (lanes, rows, cols) tensors concatenated lane by lane. */
function concatLanes(a: RingTensor, b: RingTensor): RingTensor {
  const [l, r1, c] = a.shape, r2 = b.shape[1];
  const out = new BigUint64Array(l * (r1 + r2) * c);
  for (let h = 0; h < l; h++) {
    out.set(a.data.subarray(h * r1 * c, (h + 1) * r1 * c), h * (r1 + r2) * c);
    out.set(b.data.subarray(h * r2 * c, (h + 1) * r2 * c), h * (r1 + r2) * c + r1 * c);
  }
  return tensor([l, r1 + r2, c], out);
}

describe(`maskOperand / maskedMatmul (SEED=${TEST_SEED})`, () => {
  it('masks W once; each product sends only 8·|X| in 1 round and receives 8·|Z| offline (P0)', async () => {
    const parties = localParties();
    const w = rand('w', [7, 5]);
    const ops = await masked(parties, w);
    for (const p of [0, 1] as const) expect(parties.ctx[p].ledger.get('maskOperand')).toMatchObject(maskOperandCost([7, 5]));
    for (const xs of [[1, 7], [3, 7], [2, 4, 7], [1, 1, 7]]) {
      const before = parties.ctx.map((c) => c.ledger.get('maskedMatmul'));
      const x = rand(`x${xs}`, xs);
      const { z } = await product(parties, x, ops);
      expect(z.shape).toEqual([...xs.slice(0, -1), 5]);
      expect(Array.from(z.data)).toEqual(refMatmul(x, w));
      const cost = maskedMatmulCost(xs, z.shape);
      expect(cost.bytesSent).toBe(8 * sizeOf(xs));
      for (const p of [0, 1] as const) {
        const c = parties.ctx[p].ledger.get('maskedMatmul');
        expect(c.rounds - before[p].rounds).toBe(1);
        expect(c.bytesSent - before[p].bytesSent).toBe(cost.bytesSent);
        expect(c.offlineBytes - before[p].offlineBytes).toBe(p === 0 ? cost.offlineBytes : 0);
      }
    }
    // the one-time opening was counted once
    expect(parties.ctx[0].ledger.get('maskOperand').bytesSent).toBe(8 * 35);
  });

  it('1×1 operand, and products with the transpose on both kernel paths', async () => {
    const parties = localParties();
    const one = rand('one', [1, 1]);
    const o1 = await masked(parties, one);
    const x1 = rand('x1', [1, 1]);
    expect(Array.from((await product(parties, x1, o1)).z.data)).toEqual(refMatmul(x1, one));
    const k = rand('k', [9, 4]); // K: 9 cached rows of width 4
    const ok = await masked(parties, k);
    for (const m of [1, 2, 30]) { // m = 30 transposes K itself, m ≤ 2 computes (K·qᵀ)ᵀ
      const q = rand(`q${m}`, [m, 4]);
      const { z } = await product(parties, q, ok, true);
      expect(z.shape).toEqual([m, 9]);
      expect(Array.from(z.data)).toEqual(refMatmul(q, k, true));
    }
  });

  it('batched lanes (one per head): q·Kᵀ and p·V', async () => {
    const parties = localParties();
    const K = rand('K', [3, 6, 4]), V = rand('V', [3, 6, 5]);
    const ok = await masked(parties, K), ov = await masked(parties, V);
    const q = rand('q', [3, 1, 4]), p = rand('p', [3, 2, 6]);
    const s = await product(parties, q, ok, true);
    expect(s.z.shape).toEqual([3, 1, 6]);
    expect(Array.from(s.z.data)).toEqual(refMatmul(q, K, true));
    const o = await product(parties, p, ov);
    expect(o.z.shape).toEqual([3, 2, 5]);
    expect(Array.from(o.z.data)).toEqual(refMatmul(p, V));
  });

  it('a K/V cache that starts empty and grows one row per decoding step, appends fused into the products', async () => {
    const parties = localParties();
    const lanes = 2, d = 3;
    let K = tensor([lanes, 0, d]), V = tensor([lanes, 0, d]);
    const ok = await masked(parties, K), ov = await masked(parties, V);
    expect(parties.ctx[0].ledger.get('maskOperand')).toMatchObject({ rounds: 0, bytesSent: 0 });
    for (let step = 1; step <= 5; step++) {
      const kRow = rand(`k${step}`, [lanes, 1, d]), vRow = rand(`v${step}`, [lanes, 1, d]);
      K = concatLanes(K, kRow);
      V = concatLanes(V, vRow);
      const q = rand(`q${step}`, [lanes, 1, d]), p = rand(`p${step}`, [lanes, 1, step]);
      const before = parties.ctx[1].ledger.snapshot();
      const s = await product(parties, q, ok, true, kRow); // q·Kᵀ, k_t masked in the same round
      const o = await product(parties, p, ov, false, vRow); // p·V, v_t masked in the same round
      const used = parties.ctx[1].ledger.snapshot();
      expect(used.rounds - before.rounds).toBe(2);
      expect(used.bytesSent - before.bytesSent).toBe(
        maskedMatmulCost(q.shape, s.z.shape, lanes * d).bytesSent + maskedMatmulCost(p.shape, o.z.shape, lanes * d).bytesSent,
      );
      expect(Array.from(s.z.data)).toEqual(refMatmul(q, K, true));
      expect(Array.from(o.z.data)).toEqual(refMatmul(p, V));
      expect(ok[0].shape).toEqual([lanes, step, d]);
    }
  });

  it('exact cost on both parties: a product with rows appended in its round, then appendMaskedRows alone', async () => {
    const parties = localParties();
    const lanes = 2, d = 3, K = rand('cost/K', [lanes, 4, d]);
    const ops = await masked(parties, K);
    const q = rand('cost/q', [lanes, 1, d]), kRow = rand('cost/k', [lanes, 1, d]);
    const { z } = await product(parties, q, ops, true, kRow);
    expect(Array.from(z.data)).toEqual(refMatmul(q, concatLanes(K, kRow), true));
    // header: 1 round, 8·|X| + 8 B per appended element sent; 8·|Z| B to P0 (the product triple's C),
    // nothing for the appended rows' masks (keyed streams)
    const cost = maskedMatmulCost(q.shape, z.shape, lanes * d);
    expect(cost).toEqual({ rounds: 1, bytesSent: 8 * (lanes * d + lanes * d), offlineBytes: 8 * lanes * 5 });
    expectScopeCost(parties, 'maskedMatmul', cost, 'p0');
    const extra = share(rand('cost/extra', [lanes, 2, d]));
    await runBoth(parties, (ctx) => appendMaskedRows(ctx, ops[ctx.party], extra[ctx.party]));
    expect(maskOperandCost([lanes, 2, d])).toEqual({ rounds: 1, bytesSent: 8 * lanes * 2 * d, offlineBytes: 0 });
    expectScopeCost(parties, 'appendMaskedRows', maskOperandCost([lanes, 2, d]));
  });

  it('appendMaskedRows (its own round) then products over the grown operand; the dealer uses each operand’s own mask', async () => {
    const parties = localParties();
    const w = rand('w0', [2, 3]), extra = rand('w1', [3, 3]);
    const [a, b] = [await masked(parties, w), await masked(parties, w)]; // same W twice: independent masks
    expect(a[0].key).not.toBe(b[0].key);
    const ex = share(extra);
    await runBoth(parties, (ctx) => appendMaskedRows(ctx, a[ctx.party], ex[ctx.party]));
    expect(parties.ctx[0].ledger.get('appendMaskedRows')).toMatchObject(maskOperandCost([3, 3]));
    // D of the same W under two operands differs (fresh masks), and both shares of W still reconstruct it
    expect(a[0].laneD(0).subarray(0, 6)).not.toEqual(b[0].laneD(0));
    expect(reconstruct({ shape: [6], data: b[0].laneShare(0) }, { shape: [6], data: b[1].laneShare(0) }).data).toEqual(w.data);
    const x = rand('xa', [4, 5]);
    expect(Array.from((await product(parties, x, a)).z.data)).toEqual(refMatmul(x, concatRows([w, extra])));
    const x2 = rand('xb', [4, 2]);
    expect(Array.from((await product(parties, x2, b)).z.data)).toEqual(refMatmul(x2, w));
  });

  it('two different dealer seeds give different shares and the same result', async () => {
    const w = rand('sw', [4, 3]), x = rand('sx', [2, 4]);
    const ws = share(w), xs = share(x);
    const outs = [];
    for (const label of ['a', 'b']) {
      const parties = localParties({ seeds: fixedSeeds(label) });
      outs.push(
        await runBoth(parties, async (ctx) => maskedMatmul(ctx, xs[ctx.party], await maskOperand(ctx, ws[ctx.party]))),
      );
    }
    expect(outs[0][1].data).not.toEqual(outs[1][1].data);
    expect(reconstruct(...outs[0]).data).toEqual(reconstruct(...outs[1]).data);
  });

  it("one party's output share is uniform (byte chi-square) for a zero product", async () => {
    const parties = localParties();
    const ops = await masked(parties, tensor([16, 64]));
    const { z, z0, z1 } = await product(parties, tensor([64, 16]), ops);
    expect(z.data.every((v) => v === 0n)).toBe(true);
    expect(byteChiSquare(z0.data)).toBeLessThan(CHI2_255_LIMIT);
    expect(byteChiSquare(z1.data)).toBeLessThan(CHI2_255_LIMIT);
    expect(byteChiSquare(ops[0].laneD(0))).toBeLessThan(CHI2_255_LIMIT); // the opened D of W = 0
  });

  it('rejects wrong shapes with ShapeError', async () => {
    const parties = localParties();
    const ctx = parties.ctx[0];
    await expect(maskOperand(ctx, tensor([5]))).rejects.toThrow(ShapeError);
    await expect(maskOperand(ctx, tensor([1, 2, 3, 4]))).rejects.toThrow(ShapeError);
    // a: (4, 3); b: (2, 4, 3) — party 0's objects are enough, the checks fire before any message
    const [[a, b]] = await runBoth(parties, async (c) => [await maskOperand(c, tensor([4, 3])), await maskOperand(c, tensor([2, 4, 3]))]);
    const sent = ctx.ledger.total.messages;
    await expect(maskedMatmul(ctx, tensor([1, 5]), a)).rejects.toThrow(ShapeError);
    await expect(maskedMatmul(ctx, tensor([1, 4]), a, { transpose: true })).rejects.toThrow(ShapeError);
    await expect(maskedMatmul(ctx, tensor([4]), a)).rejects.toThrow(ShapeError);
    await expect(maskedMatmul(ctx, tensor([3, 1, 4]), b)).rejects.toThrow('(3, 1, 4)');
    await expect(maskedMatmul(ctx, tensor([2, 4]), b)).rejects.toThrow(ShapeError);
    await expect(maskedMatmul(ctx, tensor([1, 4]), a, { append: tensor([1, 4]) })).rejects.toThrow(ShapeError);
    await expect(appendMaskedRows(ctx, b, tensor([2, 1, 4]))).rejects.toThrow('(2, r, 3)');
    expect(ctx.ledger.total.messages).toBe(sent);
  });

  it('fails with ChannelClosedError (no hang) when the peer closes mid-protocol', async () => {
    let ops: [MaskedOperand, MaskedOperand] | undefined;
    const e = await p0ErrorWhenPeerCloses(
      (ctx) => maskedMatmul(ctx, tensor([2, 4]), ops![0], { append: tensor([1, 2]) }), // W grows to 4 rows
      async (parties) => {
        ops = await masked(parties, tensor([3, 2]));
      },
    );
    expect(e).toBeInstanceOf(ChannelClosedError);
  });

  it('works unchanged with a remote dealer service: same shares as the in-process dealer for the same seeds', async () => {
    const seeds = fixedSeeds('remote');
    const K = rand('rk', [2, 5, 3]), row = rand('rrow', [2, 1, 3]), q = rand('rq', [2, 1, 3]);
    const Ks = share(K), rows = share(row), qs = share(q);
    const body = async (parties: LocalParties) => {
      const ops = await runBoth(parties, (ctx) => maskOperand(ctx, Ks[ctx.party]));
      return runBoth(parties, (ctx) => maskedMatmul(ctx, qs[ctx.party], ops[ctx.party], { transpose: true, append: rows[ctx.party] }));
    };
    // the dealer as a service over channels (dealer-service.ts), as deployed
    const session = new DealerSession(seeds.dealerP0, seeds.dealerP1);
    const [p0d, d0] = MemoryChannel.pair(), [p1d, d1] = MemoryChannel.pair();
    void serveDealerSession(session, [d0, d1], correlationRegistry([operandRowMasks, maskedProductTriples])).catch(() => undefined);
    const ledgers = [new Ledger(), new Ledger()] as const;
    const peer = MemoryChannel.pair({ ledger: ledgers[0] }, { ledger: ledgers[1] });
    const links = [new ChannelDealerLink(p0d), new ChannelDealerLink(p1d)] as const;
    const make = (p: PartyId) =>
      makePartyContext(p, peer[p], ledgers[p], new CorrelationSource(p, p === 0 ? seeds.dealerP0 : seeds.dealerP1, links[p], ledgers[p]), seeds.common);
    const remote = await body({ ctx: [make(0), make(1)], dealer: session });
    const local = await body(localParties({ seeds }));
    expect(remote[0].data).toEqual(local[0].data);
    expect(Array.from(reconstruct(...remote).data)).toEqual(refMatmul(q, concatLanes(K, row), true));
    for (const c of [p0d, p1d, d0, d1]) c.close('done');
  });
});
