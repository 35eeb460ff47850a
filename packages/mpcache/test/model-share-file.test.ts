/**
 * Model share files (secure/model-share-file.ts), the model owner's shipment to each server:
 *   - both files reconstruct every weight slice to encode(W) (mpc-core's encoder, not the sharing
 *     code's) and every gate tensor to its fixed-point value, with the shapes the decoder expects;
 *   - P1's file is 16 bytes of seed, independent of the weights; P0's share is not the weights;
 *   - written with mode 0600, never overwritten;
 *   - bad files and wrong servers are refused with ModelFileError naming fields, never words.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { add, encode } from '@mpcache/mpc-core';
import {
  decodeModelShareFile, encodeModelShareFiles, loadModelShareFile, randomAttentionGateWeights, randomWeights, tensorOf,
  TINY_GPT2, TINY_LLAMA, weightSliceKeys, weightSliceShape, writeModelShareFiles, type GatePolicyOptions,
} from '@mpcache/mpcache';

const F = 12;
const policy: GatePolicyOptions = { countMode: 'topk', threshold: 0, maskPrefill: false, recentFraction: 0.5 };
const seeds = { weights: new Uint8Array(16).fill(7), gate: new Uint8Array(16).fill(9) };

describe('model share files', () => {
  const config = TINY_GPT2, weights = randomWeights(config, 3), gate = randomAttentionGateWeights(config, 5, { gateHeads: 2, gateHeadDim: 4 });
  let dir: string;
  let paths: [string, string];
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'mpcache-shares-'));
    paths = writeModelShareFiles(dir, { weights, config, fracBits: F, gate: { weights: gate, policy } }).paths;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the two files reconstruct every weight slice to encode(W) and every gate tensor to its fixed-point value', () => {
    const [s0, s1] = [0, 1].map((p) => loadModelShareFile(paths[p], { party: p as 0 | 1, model: config.name, fracBits: F }));
    expect([s0.header.weights, s1.header.weights]).toEqual(['words', 'seed']);
    expect(s0.header.shareSet).toMatch(/^[0-9a-f]{16}$/);
    expect(s1.header.shareSet).toBe(s0.header.shareSet); // one sharing, one id
    const other = encodeModelShareFiles({ weights, config, fracBits: F });
    expect(decodeModelShareFile(Buffer.concat(other[0])).header.shareSet).not.toBe(s0.header.shareSet);
    const keys = weightSliceKeys(config);
    expect(keys.some((k) => k.name === 'posEmb')).toBe(true); // gpt2 extras included
    for (const k of keys) {
      const a = s0.weights.tensor(k.name, k.layer), b = s1.weights.tensor(k.name, k.layer), shape = weightSliceShape(config, k.name);
      expect([a.shape, b.shape]).toEqual([shape, shape]);
      const n = a.data.length, all = tensorOf(weights, k.name), off = (k.layer ?? 0) * n;
      expect(add(a, b).data).toEqual(encode(all.subarray(off, off + n), F));
      expect(a.data).not.toEqual(encode(all.subarray(off, off + n), F)); // P0 holds a share, not the weights
    }
    // gate: wqkv (D, 3gd) = [wq/√gdh | wk | wv]ᵀ, wg (gd, H) = wgᵀ, bg at 2f
    const D = config.dModel, H = config.nHeads, gd = 8, scale = 1 / Math.sqrt(4);
    expect(s0.gate!.policy).toEqual(policy);
    for (let l = 0; l < config.nLayers; l++) {
      const [g0, g1] = [s0.gate!.shares.layers[l], s1.gate!.shares.layers[l]], L = gate.layers[l];
      expect([g0.wqkv.shape, g0.wg.shape, g0.bg.shape]).toEqual([[D, 3 * gd], [gd, H], [H]]);
      expect(add(g0.wqkv, g1.wqkv).data).toEqual(encodeWqkv(L, D, gd, scale));
      const wg = Float64Array.from({ length: gd * H }, (_, t) => L.wg[(t % H) * gd + Math.floor(t / H)]);
      expect(add(g0.wg, g1.wg).data).toEqual(encode(wg, F));
      expect(add(g0.bg, g1.bg).data).toEqual(encode(L.bg, 2 * F));
    }
  });

  it("P1's file holds only the 16-byte seed: the same for other weights; P0's differs", () => {
    const other = randomWeights(config, 4);
    const [a0, a1] = encodeModelShareFiles({ weights, config, fracBits: F, seeds });
    const [b0, b1] = encodeModelShareFiles({ weights: other, config, fracBits: F, seeds });
    const cat = (c: Uint8Array[]) => Buffer.concat(c);
    // the same payload (the 16-byte seed) and hash; the headers differ in their random shareSet only
    expect(cat(a1).subarray(-16)).toEqual(cat(b1).subarray(-16));
    const [ha, hb] = [a1, b1].map((f) => decodeModelShareFile(cat(f)).header);
    expect({ ...ha, shareSet: '' }).toEqual({ ...hb, shareSet: '' });
    expect(cat(a0).equals(cat(b0))).toBe(false);
    expect(decodeModelShareFile(cat(a1)).header.payloadBytes).toBe(16);
  });

  it('files are mode 0600 and never overwritten', () => {
    for (const p of paths) expect(statSync(p).mode & 0o777).toBe(0o600);
    const before = readFileSync(paths[0]);
    expect(() => writeModelShareFiles(dir, { weights, config, fracBits: F })).toThrow(/p0\.mpcshare exists: share files are never overwritten/);
    expect(readFileSync(paths[0]).equals(before)).toBe(true);
  });

  describe('refuses', () => {
    const p0 = () => Uint8Array.from(readFileSync(paths[0]));
    /** `b` with its header JSON edited, the payload moved to the new aligned offset. */
    const withHeader = (b: Uint8Array, edit: (h: Record<string, unknown>) => void): Uint8Array => {
      const H = new DataView(b.buffer).getUint32(12, true), h = JSON.parse(new TextDecoder().decode(b.subarray(16, 16 + H)));
      edit(h);
      const json = new TextEncoder().encode(JSON.stringify(h)), start = Math.ceil((16 + json.length) / 8) * 8;
      const payload = b.subarray(Math.ceil((16 + H) / 8) * 8), out = new Uint8Array(start + payload.length);
      out.set(b.subarray(0, 16));
      new DataView(out.buffer).setUint32(12, json.length, true);
      out.set(json, 16);
      out.set(payload, start);
      return out;
    };
    it.each([
      ['the other party\'s file', () => p0(), { party: 1 }, 'MPC_ERR_MODEL_HEADER', /holds P0's share, this server is P1/],
      ['another model', () => p0(), { model: TINY_LLAMA.name }, 'MPC_ERR_MODEL_HEADER', /holds model "tiny-gpt2", this server serves "tiny-llama"/],
      ['another precision', () => p0(), { fracBits: 16 }, 'MPC_ERR_MODEL_HEADER', /is at 12 fractional bits, this server runs at 16/],
      ['a flipped payload byte', () => { const b = p0(); b[b.length - 1] ^= 1; return b; }, {}, 'MPC_ERR_MODEL_HASH', /payload sha256 differs/],
      ['a truncated file', () => p0().subarray(0, 1000), {}, 'MPC_ERR_MODEL_SIZE', /payload expected \d+ bytes, got \d+/],
      ['bad magic', () => { const b = p0(); b[0] = 0x41; return b; }, {}, 'MPC_ERR_MODEL_HEADER', /bad magic/],
      ['an unknown model without its configuration', () => withHeader(p0(), (h) => { h.model = 'gpt5'; }), {}, 'MPC_ERR_MODEL_HEADER', /"config" expected the llama configuration of "gpt5" \(it is not a shipped model/],
      ['a model name that is no name', () => withHeader(p0(), (h) => { h.model = '../x'; }), {}, 'MPC_ERR_MODEL_HEADER', /"model" expected a name matching/],
      ['a shipped model with a configuration of its own', () => withHeader(p0(), (h) => { h.config = { ...TINY_GPT2 }; }), {}, 'MPC_ERR_MODEL_HEADER', /"config" unexpected: "tiny-gpt2" is a shipped model/],
      ['a configuration that differs', () => withHeader(p0(), (h) => { h.modelConfigSha256 = '00'; }), {}, 'MPC_ERR_MODEL_HEADER', /"modelConfigSha256" differs/],
      ['a P0 file in seed form', () => withHeader(p0(), (h) => { h.weights = 'seed'; }), {}, 'MPC_ERR_MODEL_HEADER', /"weights" expected "words" \(P0 has no seed form\)/],
      ['a payload length that disagrees with the model', () => withHeader(p0(), (h) => { h.payloadBytes = (h.payloadBytes as number) - 8; }), {}, 'MPC_ERR_MODEL_HEADER', /"payloadBytes" \d+ differs from the \d+ its model and gate imply/],
      ['a malformed share set', () => withHeader(p0(), (h) => { h.shareSet = 'xyz'; }), {}, 'MPC_ERR_MODEL_HEADER', /"shareSet" expected 16 hex digits/],
      ['a bad gate policy', () => withHeader(p0(), (h) => { (h.gate as { policy: unknown }).policy = { countMode: 'all' }; }), {}, 'MPC_ERR_MODEL_HEADER', /"gate.policy" expected/],
    ] as const)('%s', (_label, make, expect_, code, msg) => {
      let err: unknown;
      try { decodeModelShareFile(make(), expect_); } catch (e) { err = e; }
      expect(err).toMatchObject({ name: 'ModelFileError', code });
      expect((err as Error).message).toMatch(msg);
    });
    it('a model of its own whose configuration is out of bounds, or whose hash differs', () => {
      const own = { ...TINY_LLAMA, name: 'own-tiny' };
      const [f0] = encodeModelShareFiles({ weights: randomWeights(TINY_LLAMA, 3), config: own, fracBits: F, seeds });
      const b = new Uint8Array(f0.reduce((n, c) => n + c.length, 0));
      f0.reduce((at, c) => (b.set(c, at), at + c.length), 0);
      expect(decodeModelShareFile(b).header.config).toEqual(own);
      const refused = (edit: (h: Record<string, unknown>) => void) => {
        try { decodeModelShareFile(withHeader(b, edit)); } catch (e) { return e as Error; }
        return undefined;
      };
      expect(refused((h) => { (h.config as Record<string, unknown>).nLayers = 1000; })).toMatchObject({ code: 'MPC_ERR_MODEL_HEADER', message: expect.stringMatching(/"config": "nLayers" 1000 exceeds 128/) });
      expect(refused((h) => { (h.config as Record<string, unknown>).nLayers = 3; })).toMatchObject({ code: 'MPC_ERR_MODEL_HEADER', message: expect.stringMatching(/"modelConfigSha256" differs/) });
      expect(refused((h) => { (h.config as Record<string, unknown>).family = 'gpt2'; })).toMatchObject({ message: expect.stringMatching(/"config" expected the llama configuration/) });
      expect(() => encodeModelShareFiles({ weights: randomWeights(TINY_LLAMA, 3), config: { ...TINY_LLAMA, name: TINY_GPT2.name }, fracBits: F, seeds }))
        .toThrow(/names a shipped configuration, and this one differs/);
    });
    it('a missing file, with its path', () => {
      const p = join(dir, 'none.mpcshare');
      expect(existsSync(p)).toBe(false);
      expect(() => loadModelShareFile(p)).toThrow(expect.objectContaining({ code: 'MPC_ERR_MODEL_MISSING', message: expect.stringContaining('none.mpcshare: ENOENT') }));
    });
    it('an unaligned copy of a valid file still loads (the payload is copied to alignment)', () => {
      const b = p0(), shifted = new Uint8Array(b.length + 3).subarray(3);
      shifted.set(b);
      const f = decodeModelShareFile(shifted, { party: 0 });
      expect(f.weights.tensor('wq', 1).data).toEqual(loadModelShareFile(paths[0]).weights.tensor('wq', 1).data);
    });
  });
});

/** wqkv (D, 3gd) at f, built independently: [wq·scale | wk | wv]ᵀ, wq scaled in float32 as the owner does. */
function encodeWqkv(L: { wq: Float32Array; wk: Float32Array; wv: Float32Array }, D: number, gd: number, scale: number): BigUint64Array {
  const wqS = L.wq.map((x) => x * scale), out = new Float64Array(D * 3 * gd);
  for (let i = 0; i < D; i++) for (let j = 0; j < gd; j++) {
    out[i * 3 * gd + j] = wqS[j * D + i];
    out[i * 3 * gd + gd + j] = L.wk[j * D + i];
    out[i * 3 * gd + 2 * gd + j] = L.wv[j * D + i];
  }
  return encode(out, F);
}
