/**
 * Slow, obvious reference of fss.md §1 and §3: one key at a time, one AES block per call, values
 * as plain bigints. Independent of src/fss (own key derivation and AES calls) so the batched code
 * is checked against a transcription of the pseudo-code, line by line.
 */
import { createCipheriv, createHash } from 'node:crypto';

export type Block = Uint8Array; // 16 bytes
const M64 = (1n << 64n) - 1n;
const mod = (v: bigint) => ((v % (1n << 64n)) + (1n << 64n)) & M64;

const key = (label: string) => createHash('sha256').update(label).digest().subarray(0, 16);
const KS = key('mpcache/fss/seed');
const KV = key('mpcache/fss/value');

function aes(k: Uint8Array, x: Block): Block {
  const c = createCipheriv('aes-128-ecb', k, null);
  c.setAutoPadding(false);
  return new Uint8Array(c.update(x));
}

const xor = (a: Block, b: Block): Block => a.map((v, i) => v ^ b[i]);
/** H_K(X) = AES_K(X) ⊕ X */
const H = (k: Uint8Array, x: Block) => xor(aes(k, x), x);

export const lo = (b: Block): bigint => new DataView(b.buffer, b.byteOffset).getBigUint64(0, true);
export const hi = (b: Block): bigint => new DataView(b.buffer, b.byteOffset).getBigUint64(8, true);
function withLo(b: Block, v: bigint): Block {
  const o = new Uint8Array(b);
  new DataView(o.buffer).setBigUint64(0, v & M64, true);
  return o;
}
const xorLo = (b: Block, tau: bigint) => withLo(b, lo(b) ^ tau);

/** Expand(s, d) = (H_S(s ⊕ d) with lo &= ~3, lo & 1) */
export function refExpand(s: Block, d: number): [Block, number] {
  const y = H(KS, xorLo(s, BigInt(d)));
  return [withLo(y, lo(y) & ~3n), Number(lo(y) & 1n)];
}

/** Words(s, τ, m) */
export function refWords(s: Block, tau: number, m: number): bigint[] {
  const w: bigint[] = [];
  for (let j = 0; 2 * j < m; j++) {
    const y = H(KV, xorLo(s, BigInt(tau + 4 * j)));
    w.push(lo(y), hi(y));
  }
  return w.slice(0, m);
}

const bitAt = (v: bigint, n: number, i: number) => Number((v >> BigInt(n - i)) & 1n); // x[i], MSB first
const sgn = (t: number) => (t ? M64 : 1n);

export interface RefDcfKey {
  cw: Block[]; // CW_1..CW_n
  vcw: bigint[][]; // VCW_i[k]
  lcw: bigint[];
}

export type RefVariant = 'lt' | 'gt' | 'le';

/** Gen_DCF(n, α, β) with given roots (low 2 bits clear). Returns the common correction words. */
export function refDcfGen(n: number, alpha: bigint, beta: bigint[], root0: Block, root1: Block, variant: RefVariant = 'lt'): RefDcfKey {
  const m = beta.length;
  let s = [root0, root1];
  let t = [0, 1];
  const va = new Array<bigint>(m).fill(0n);
  const key: RefDcfKey = { cw: [], vcw: [], lcw: [] };
  for (let i = 1; i <= n; i++) {
    const a = bitAt(alpha, n, i), keep = a, lose = 1 - a;
    const sigma = sgn(t[1]);
    const S: Block[][] = [[], []], T: number[][] = [[], []], v: bigint[][][] = [[], []];
    for (const b of [0, 1]) {
      for (const d of [0, 1]) {
        [S[b][d], T[b][d]] = refExpand(s[b], d);
        v[b][d] = refWords(s[b], d, m);
      }
    }
    const sCW = xor(S[0][lose], S[1][lose]);
    const tCW = [T[0][0] ^ T[1][0] ^ a ^ 1, T[0][1] ^ T[1][1] ^ a];
    key.cw.push(withLo(sCW, lo(sCW) | BigInt(tCW[0]) | (BigInt(tCW[1]) << 1n)));
    const vcw: bigint[] = [];
    for (let k = 0; k < m; k++) {
      const addBeta = variant === 'gt' ? a === 0 : a === 1;
      vcw[k] = mod(sigma * (v[1][lose][k] - v[0][lose][k] - va[k] + (addBeta ? beta[k] : 0n)));
      va[k] = mod(va[k] - v[1][keep][k] + v[0][keep][k] + sigma * vcw[k]);
    }
    key.vcw.push(vcw);
    const ns: Block[] = [], nt: number[] = [];
    for (const b of [0, 1]) {
      ns[b] = t[b] ? xor(S[b][keep], sCW) : S[b][keep];
      nt[b] = T[b][keep] ^ (t[b] & tCW[keep]);
    }
    s = ns;
    t = nt;
  }
  const C0 = refWords(s[0], 2, m), C1 = refWords(s[1], 2, m);
  for (let k = 0; k < m; k++) {
    key.lcw[k] = mod(sgn(t[1]) * (C1[k] - C0[k] - va[k] + (variant === 'le' ? beta[k] : 0n)));
  }
  return key;
}

/** Eval_DCF(b, key_b, x) */
export function refDcfEval(b: number, root: Block, key: RefDcfKey, n: number, x: bigint): bigint[] {
  const m = key.lcw.length;
  let s = root;
  let t = b;
  const V = new Array<bigint>(m).fill(0n);
  for (let i = 1; i <= n; i++) {
    const d = bitAt(x, n, i);
    let [s2, t2] = refExpand(s, d);
    const w = refWords(s, d, m);
    for (let k = 0; k < m; k++) V[k] = mod(V[k] + sgn(b) * (w[k] + BigInt(t) * key.vcw[i - 1][k]));
    if (t) {
      const cw = key.cw[i - 1];
      s2 = xor(s2, withLo(cw, lo(cw) & ~3n));
      t2 ^= Number((lo(cw) >> BigInt(d)) & 1n);
    }
    s = s2;
    t = t2;
  }
  const C = refWords(s, 2, m);
  for (let k = 0; k < m; k++) V[k] = mod(V[k] + sgn(b) * (C[k] + BigInt(t) * key.lcw[k]));
  return V;
}

/** The wire layout (fss.md §6) of a batch of reference keys, for byte-exact comparison. */
export function refWire(keys: RefDcfKey[], n: number, m: number): Uint8Array {
  const N = keys.length;
  const out = new Uint8Array(N * (n * (16 + 8 * m) + 8 * m));
  const dv = new DataView(out.buffer);
  let off = 0;
  for (let i = 0; i < n; i++) {
    for (const k of keys) { out.set(k.cw[i], off); off += 16; }
    for (const k of keys) for (let q = 0; q < m; q++) { dv.setBigUint64(off, k.vcw[i][q], true); off += 8; }
  }
  for (const k of keys) for (let q = 0; q < m; q++) { dv.setBigUint64(off, k.lcw[q], true); off += 8; }
  return out;
}
