import { decode, reconstruct } from '@mpcache/mpc-core';
import { gumbelFromWord, gumbelNoise, localParties, runBoth } from '@mpcache/protocols';
import { testPrg, TEST_SEED } from './helpers';

const EULER_GAMMA = 0.5772156649;

describe(`gumbelNoise (SEED=${TEST_SEED})`, () => {
  it('shares of T·g, g ~ Gumbel(0, 1): moments and CDF; 0 rounds, 8 B per element to P0 only', async () => {
    const parties = localParties();
    const n = 20000, T = 1.5, f = 20;
    const [a, b] = await runBoth(parties, (ctx) => ctx.dealer.take(gumbelNoise, { count: n, temperature: T, fracBits: f }));
    const g = decode(reconstruct({ shape: [n], data: a }, { shape: [n], data: b }).data, f).map((x) => x / T);
    const mean = g.reduce((s, x) => s + x, 0) / n;
    const variance = g.reduce((s, x) => s + (x - mean) ** 2, 0) / n;
    expect(Math.abs(mean - EULER_GAMMA)).toBeLessThan(0.05); // standard error 0.009
    expect(Math.abs(variance - Math.PI ** 2 / 6)).toBeLessThan(0.12);
    for (const x of [-1, 0, 0.5, 1, 2, 4]) {
      const empirical = g.filter((v) => v <= x).length / n, cdf = Math.exp(-Math.exp(-x));
      expect(Math.abs(empirical - cdf)).toBeLessThan(0.015); // DKW: P(> 0.015) < 2e-3·… tiny
    }
    expect(parties.ctx[0].ledger.snapshot()).toMatchObject({ rounds: 0, bytesSent: 0, offlineBytes: 8 * n });
    expect(parties.ctx[1].ledger.snapshot()).toMatchObject({ rounds: 0, bytesSent: 0, offlineBytes: 0 });
  });

  it('the Gumbel-max trick with this noise samples softmax(l / T)', async () => {
    const parties = localParties();
    const logits = [0, 1, 2, -1], V = logits.length, T = 1.5, rows = 4000, f = 16;
    const [a, b] = await runBoth(parties, (ctx) => ctx.dealer.take(gumbelNoise, { count: V * rows, temperature: T, fracBits: f }));
    const noise = decode(reconstruct({ shape: [V * rows], data: a }, { shape: [V * rows], data: b }).data, f);
    const counts = new Array<number>(V).fill(0);
    for (let r = 0; r < rows; r++) {
      let best = 0;
      for (let i = 1; i < V; i++) if (logits[i] + noise[r * V + i] > logits[best] + noise[r * V + best]) best = i;
      counts[best]++;
    }
    const z = logits.reduce((s, l) => s + Math.exp(l / T), 0);
    for (let i = 0; i < V; i++) {
      const p = Math.exp(logits[i] / T) / z, sd = Math.sqrt((p * (1 - p)) / rows);
      expect(Math.abs(counts[i] / rows - p)).toBeLessThan(4.5 * sd);
    }
  });

  it('clips the upper tail, stays finite at the lowest word, and rejects bad parameters', () => {
    expect(gumbelFromWord(0n)).toBeCloseTo(-Math.log(-Math.log(2 ** -54)), 6); // ≈ −3.62: u > 0
    expect(gumbelFromWord((1n << 64n) - 1n)).toBe(20);
    // what the dealer service checks on every request (dealer-service.ts)
    for (const bad of [{ count: 4, temperature: 0, fracBits: 16 }, { count: 4, temperature: 101, fracBits: 16 }, { count: 4, temperature: 1, fracBits: 41 }]) {
      expect(() => gumbelNoise.validate(bad)).toThrow(RangeError);
    }
    expect(gumbelNoise.validate({ count: 4, temperature: 0.7, fracBits: 32 })).toEqual({ count: 4, temperature: 0.7, fracBits: 32 });
  });
});
