import { reconstruct, ShapeError, share, sizeOf, tensor, type RingTensor } from '@mpcache/mpc-core';
import {
  bitMaskedMatmul,
  bitMaskedMatmulCost,
  bitMaskedProductTriples,
  BitMaskedMatrix,
  bitMaskMatrix,
  bitMaskMatrixCost,
  bitMaskShares,
  correlationRegistry,
  fuseRounds,
  localParties,
  openBitMask,
  openBitMaskCost,
  openWords,
  runBoth,
  type LocalParties,
} from '@mpcache/protocols';
import { expectScopeCost } from './cost-helpers';
import { testPrg, TEST_SEED } from './helpers';
import { ChannelClosedError, fixedSeeds, p0ErrorWhenPeerCloses } from './linear-helpers';
import { newSeeds, remoteParties } from './remote-parties';

const rand = (label: string, shape: number[]): RingTensor => tensor(shape, testPrg(label).words(sizeOf(shape)));

/** Random one-hot rows (lanes, k, C), or random bits when `bits`. */
function randomOneHot(label: string, lanes: number, k: number, C: number, bits = false): RingTensor {
  const w = testPrg(label).words(lanes * k * C), o = new BigUint64Array(lanes * k * C);
  for (let r = 0; r < lanes * k; r++) {
    if (bits) for (let c = 0; c < C; c++) o[r * C + c] = w[r * C + c] & 1n;
    else o[r * C + Number(w[r] % BigInt(C))] = 1n;
  }
  return tensor([lanes, k, C], o);
}

/** Reference: O·X per lane (X (lanes, C, m)), or Oᵀ·X (X (lanes, k, m)), plain BigInt. */
function refProduct(o: RingTensor, x: RingTensor, transpose: boolean): bigint[] {
  const [lanes, k, C] = o.shape, m = x.shape[2], [nIn, nOut] = transpose ? [k, C] : [C, k];
  const out: bigint[] = [];
  for (let h = 0; h < lanes; h++) {
    for (let r = 0; r < nOut; r++) {
      for (let t = 0; t < m; t++) {
        let s = 0n;
        for (let j = 0; j < nIn; j++) {
          const [l, c] = transpose ? [j, r] : [r, j];
          s += o.data[(h * k + l) * C + c] * x.data[(h * nIn + j) * m + t];
        }
        out.push(BigInt.asUintN(64, s));
      }
    }
  }
  return out;
}

async function maskBoth(parties: LocalParties, o: RingTensor): Promise<[BitMaskedMatrix, BitMaskedMatrix]> {
  const os = share(o);
  return runBoth(parties, (ctx) => bitMaskMatrix(ctx, os[ctx.party]));
}

async function product(parties: LocalParties, ms: [BitMaskedMatrix, BitMaskedMatrix], x: RingTensor, transpose: boolean) {
  const xs = share(x), before = parties.ctx.map((c) => c.ledger.get('bitMaskedMatmul'));
  const ys = await runBoth(parties, (ctx) => bitMaskedMatmul(ctx, xs[ctx.party], ms[ctx.party], { transpose }));
  const used = parties.ctx.map((c, i) => {
    const a = c.ledger.get('bitMaskedMatmul');
    return { rounds: a.rounds - before[i].rounds, bytesSent: a.bytesSent - before[i].bytesSent, offlineBytes: a.offlineBytes - before[i].offlineBytes };
  });
  return { y: reconstruct(ys[0], ys[1]), used };
}

describe(`bitMaskMatrix / bitMaskedMatmul (SEED=${TEST_SEED})`, () => {
  it.each([
    ['one-hot rows, gpt2-like lanes', 3, 4, 7, 5, false],
    ['random bits (any 0/1 matrix), odd sizes', 2, 3, 5, 3, true],
    ['1×1×1, m = 1', 1, 1, 1, 1, false],
  ])('%s: gather O·X then scatter Oᵀ·P; exact results and ledger = cost formulas', async (label, lanes, k, C, m, bits) => {
    const parties = localParties();
    const o = randomOneHot(`o/${label}`, lanes, k, C, bits);
    const ms = await maskBoth(parties, o);
    for (const p of [0, 1] as const) {
      const c = parties.ctx[p].ledger.get('bitMaskMatrix'), want = bitMaskMatrixCost(o.shape);
      expect({ rounds: c.rounds, bytesSent: c.bytesSent }).toEqual({ rounds: 0, bytesSent: 0 });
      expect(c.offlineBytes).toBe(p === 0 ? want.offlineBytes : 0); // P0's correction words of [B]
    }
    expect(ms[0].isOpen).toBe(false);
    // gather: opens Ô (1 bit per entry) in the same round as E
    const x = rand(`x/${label}`, [lanes, C, m]);
    const g = await product(parties, ms, x, false);
    expect(g.y.shape).toEqual([lanes, k, m]);
    expect(Array.from(g.y.data)).toEqual(refProduct(o, x, false));
    const gc = bitMaskedMatmulCost(o.shape, x.shape, true);
    expect(gc.bytesSent).toBe(8 * lanes * C * m + Math.ceil((lanes * k * C) / 8));
    expect(gc.offlineBytes).toBe(8 * lanes * k * C * m);
    expect(g.used[0]).toEqual(gc);
    expect(g.used[1]).toEqual({ ...gc, offlineBytes: 0 });
    // scatter: Ô already public, opens only E
    const p = rand(`p/${label}`, [lanes, k, m]);
    const s = await product(parties, ms, p, true);
    expect(s.y.shape).toEqual([lanes, C, m]);
    expect(Array.from(s.y.data)).toEqual(refProduct(o, p, true));
    const sc = bitMaskedMatmulCost(o.shape, p.shape);
    expect(sc.bytesSent).toBe(8 * lanes * k * m);
    expect(s.used[0]).toEqual(sc);
    expect(s.used[1]).toEqual({ ...sc, offlineBytes: 0 });
  });

  it('followers reuse Ô with fresh operands: each product opens only its X, Ô never changes', async () => {
    const parties = localParties();
    const lanes = 2, k = 3, C = 6, m = 4, o = randomOneHot('follow/o', lanes, k, C);
    const ms = await maskBoth(parties, o);
    await product(parties, ms, rand('follow/x0', [lanes, C, m]), false);
    const hat = ms[0].hat.slice();
    expect(Array.from(ms[1].hat)).toEqual(Array.from(hat)); // both parties hold the same public Ô
    for (let layer = 1; layer <= 3; layer++) {
      const x = rand(`follow/x${layer}`, [lanes, C, m]), p = rand(`follow/p${layer}`, [lanes, k, m]);
      const g = await product(parties, ms, x, false), s = await product(parties, ms, p, true);
      expect(Array.from(g.y.data)).toEqual(refProduct(o, x, false));
      expect(Array.from(s.y.data)).toEqual(refProduct(o, p, true));
      expect(g.used[0]).toEqual(bitMaskedMatmulCost(o.shape, x.shape));
      expect(s.used[1]).toEqual({ ...bitMaskedMatmulCost(o.shape, p.shape), offlineBytes: 0 });
    }
    expect(Array.from(ms[0].hat)).toEqual(Array.from(hat));
  });

  it('Ô = O ⊕ B for the shared bit mask B, and Ô is balanced for O = 0 (B uniform)', async () => {
    const parties = localParties();
    const lanes = 4, k = 8, C = 128, n = lanes * k * C;
    for (const o of [tensor([lanes, k, C]), randomOneHot('xor/o', lanes, k, C)]) {
      const ms = await maskBoth(parties, o);
      await runBoth(parties, (ctx) => openBitMask(ctx, ms[ctx.party]));
      const B = reconstruct({ shape: [n], data: ms[0].bShare }, { shape: [n], data: ms[1].bShare }).data;
      let ones = 0, bad = 0;
      for (let i = 0; i < n; i++) {
        if (B[i] > 1n || BigInt(ms[0].hat[i]) !== (o.data[i] ^ B[i])) bad++;
        ones += ms[0].hat[i];
      }
      expect(bad).toBe(0);
      expect(Math.abs(ones - n / 2)).toBeLessThan(6 * Math.sqrt(n / 4)); // 6σ of a fair coin
    }
  });

  it('openBitMask on its own: exact cost on both parties (1 round, ⌈n/8⌉ B, no dealer bytes)', async () => {
    const parties = localParties();
    const o = randomOneHot('open1/o', 2, 3, 7), ms = await maskBoth(parties, o);
    await runBoth(parties, (ctx) => openBitMask(ctx, ms[ctx.party]));
    expect(ms[0].isOpen && ms[1].isOpen).toBe(true);
    expect(openBitMaskCost(o.shape)).toEqual({ rounds: 1, bytesSent: Math.ceil((2 * 3 * 7) / 8), offlineBytes: 0 });
    expectScopeCost(parties, 'openBitMask', openBitMaskCost(o.shape));
  });

  it('openBitMask alone: 1 round, ⌈n/8⌉ B; fuses with another opening; later products open only X', async () => {
    const parties = localParties();
    const lanes = 3, k = 5, C = 7, o = randomOneHot('open/o', lanes, k, C);
    const ms = await maskBoth(parties, o);
    const w = share(rand('open/w', [9]));
    const [[, opened]] = await runBoth(parties, (ctx) => fuseRounds<[void, BigUint64Array]>(ctx, [
      (c) => openBitMask(c, ms[ctx.party]),
      (c) => openWords(c, w[ctx.party].data),
    ]));
    expect(opened.length).toBe(9);
    expect(parties.ctx[0].ledger.total.rounds).toBe(1);
    expect(parties.ctx[0].ledger.total.bytesSent).toBe(openBitMaskCost(o.shape).bytesSent + 8 * 9);
    expect(openBitMaskCost(o.shape)).toEqual({ rounds: 1, bytesSent: Math.ceil(105 / 8), offlineBytes: 0 });
    await runBoth(parties, (ctx) => openBitMask(ctx, ms[ctx.party])); // already open: nothing
    expect(parties.ctx[0].ledger.total.rounds).toBe(1);
    const x = rand('open/x', [lanes, C, 2]);
    const g = await product(parties, ms, x, false);
    expect(Array.from(g.y.data)).toEqual(refProduct(o, x, false));
    expect(g.used[0]).toEqual(bitMaskedMatmulCost(o.shape, x.shape));
  });

  it('two different dealer seeds give different shares and the same result', async () => {
    const o = randomOneHot('seeds/o', 2, 3, 4), x = rand('seeds/x', [2, 4, 3]), os = share(o), xs = share(x);
    const outs = [];
    for (const label of ['a', 'b']) {
      const parties = localParties({ seeds: fixedSeeds(`bitmask/${label}`) });
      outs.push(await runBoth(parties, async (ctx) => bitMaskedMatmul(ctx, xs[ctx.party], await bitMaskMatrix(ctx, os[ctx.party]))));
    }
    expect(outs[0][1].data).not.toEqual(outs[1][1].data);
    expect(reconstruct(...outs[0]).data).toEqual(reconstruct(...outs[1]).data);
  });

  it('works with a remote dealer service (specs by name, params validated there)', async () => {
    const { parties, close } = remoteParties(newSeeds(), correlationRegistry([bitMaskShares, bitMaskedProductTriples]));
    const o = randomOneHot('remote/o', 2, 2, 5), x = rand('remote/x', [2, 5, 3]), p = rand('remote/p', [2, 2, 3]);
    const ms = await maskBoth(parties, o);
    expect(Array.from((await product(parties, ms, x, false)).y.data)).toEqual(refProduct(o, x, false));
    expect(Array.from((await product(parties, ms, p, true)).y.data)).toEqual(refProduct(o, p, true));
    await close();
  });

  it('rejects wrong shapes with ShapeError before any message, and bad dealer params', async () => {
    const parties = localParties(), ctx = parties.ctx[0];
    await expect(bitMaskMatrix(ctx, tensor([3, 4]))).rejects.toThrow(ShapeError);
    const [m] = await maskBoth(parties, randomOneHot('bad/o', 2, 3, 4));
    const sent = ctx.ledger.total.messages;
    await expect(bitMaskedMatmul(ctx, tensor([2, 3, 5]), m)).rejects.toThrow('(2, 4, m)');
    await expect(bitMaskedMatmul(ctx, tensor([2, 4, 5]), m, { transpose: true })).rejects.toThrow(ShapeError);
    await expect(bitMaskedMatmul(ctx, tensor([1, 4, 5]), m)).rejects.toThrow(ShapeError);
    await expect(bitMaskedMatmul(ctx, tensor([4, 5]), m)).rejects.toThrow(ShapeError);
    expect(ctx.ledger.total.messages).toBe(sent);
    expect(() => bitMaskShares.validate({ key: 'a b', lanes: 1, rows: 1, cols: 1 })).toThrow(TypeError);
    expect(() => bitMaskShares.validate({ key: 'mo1', lanes: 1, rows: -1, cols: 1 })).toThrow(RangeError);
    expect(() => bitMaskedProductTriples.validate({ key: 'mo1', lanes: 1, rows: 1, cols: 1, m: 1 })).toThrow(TypeError);
    expect(() => bitMaskedProductTriples.validate({ key: 'mo1', lanes: 2 ** 10, rows: 2 ** 10, cols: 2 ** 5, m: 2 ** 5, transpose: false })).toThrow(RangeError);
    expect(bitMaskedProductTriples.validate({ key: 'mo1', lanes: 1, rows: 2, cols: 3, m: 4, transpose: true })).toEqual({ key: 'mo1', lanes: 1, rows: 2, cols: 3, m: 4, transpose: true });
  });

  it('a named mask key: the product is the same; a second matrix under the same key is refused', async () => {
    const parties = localParties();
    const o = randomOneHot('named/o', 2, 3, 5), x = rand('named/x', [2, 5, 4]), os = share(o), xs = share(x);
    const ys = await runBoth(parties, async (ctx) => bitMaskedMatmul(ctx, xs[ctx.party], await bitMaskMatrix(ctx, os[ctx.party], { key: 'seq1.oh0.9' })));
    expect(Array.from(reconstruct(ys[0], ys[1]).data)).toEqual(refProduct(o, x, false));
    const again = share(randomOneHot('named/o2', 2, 3, 5));
    await expect(bitMaskMatrix(parties.ctx[0], again[0], { key: 'seq1.oh0.9' })).rejects.toMatchObject({ code: 'MPC_ERR_KEY_REUSE' });
    // keys are per session: another session may use the name
    const other = localParties();
    await runBoth(other, (ctx) => bitMaskMatrix(ctx, again[ctx.party], { key: 'seq1.oh0.9' }));
  });

  it('fails with ChannelClosedError (no hang) when the peer closes mid-protocol', async () => {
    const e = await p0ErrorWhenPeerCloses(async (ctx) => bitMaskedMatmul(ctx, tensor([1, 3, 2]), await bitMaskMatrix(ctx, tensor([1, 2, 3]))));
    expect(e).toBeInstanceOf(ChannelClosedError);
  });
});
