/**
 * Slow, obvious DPF reference (fss.md §1–§2): one key at a time, one AES block per call, seeds as
 * 128-bit BigInts (lo = bits 0..63). Independent of src/fss (own key derivation and AES calls).
 */
import { createCipheriv, createHash } from 'node:crypto';

const M64 = (1n << 64n) - 1n;
const key = (label: string) => createHash('sha256').update(label).digest().subarray(0, 16);
const KS = key('mpcache/fss/seed');
const KV = key('mpcache/fss/value');

function toBytes(s: bigint): Buffer {
  const b = Buffer.alloc(16);
  b.writeBigUInt64LE(s & M64, 0);
  b.writeBigUInt64LE(s >> 64n, 8);
  return b;
}
const fromBytes = (b: Buffer): bigint => b.readBigUInt64LE(0) | (b.readBigUInt64LE(8) << 64n);

function H(k: Buffer, x: bigint): bigint {
  const c = createCipheriv('aes-128-ecb', k, null);
  c.setAutoPadding(false);
  return fromBytes(c.update(toBytes(x))) ^ x;
}

export function refExpand(s: bigint, d: number): [bigint, number] {
  const y = H(KS, s ^ BigInt(d));
  return [y & ~3n, Number(y & 1n)];
}

export function refWords(s: bigint, tau: number, m: number): bigint[] {
  const out: bigint[] = [];
  for (let j = 0; out.length < m; j++) {
    const y = H(KV, s ^ BigInt(tau + 4 * j));
    out.push(y & M64, y >> 64n);
  }
  return out.slice(0, m);
}

export interface RefDpfKey {
  root: bigint;
  cw: bigint[];
  lcw: bigint[];
}

const bitMsb = (x: bigint, n: number, i: number) => Number((x >> BigInt(n - i)) & 1n); // x[i], i = 1..n
const sgn = (t: number, v: bigint) => (t ? -v : v) & M64;

export function refDpfGen(n: number, nu: number, alpha: bigint, beta: bigint, root0: bigint, root1: bigint): [RefDpfKey, RefDpfKey] {
  const s = [root0, root1], t = [0, 1];
  const cw: bigint[] = [];
  for (let i = 1; i <= n - nu; i++) {
    const a = bitMsb(alpha, n, i);
    const E = [0, 1].map((b) => [refExpand(s[b], 0), refExpand(s[b], 1)]);
    const sCW = E[0][1 - a][0] ^ E[1][1 - a][0];
    const tL = E[0][0][1] ^ E[1][0][1] ^ a ^ 1, tR = E[0][1][1] ^ E[1][1][1] ^ a;
    cw.push(sCW | BigInt(tL) | (BigInt(tR) << 1n));
    const tKeep = a ? tR : tL;
    for (const b of [0, 1]) {
      const [sk, tk] = E[b][a];
      const old = t[b];
      s[b] = sk ^ (old ? sCW : 0n);
      t[b] = tk ^ (old & tKeep);
    }
  }
  const m = 2 ** nu, p = Number(alpha % BigInt(m));
  const W0 = refWords(s[0], 2, m), W1 = refWords(s[1], 2, m);
  const lcw = W0.map((_, j) => sgn(t[1], (j === p ? beta : 0n) - W0[j] + W1[j]));
  return [{ root: root0, cw, lcw }, { root: root1, cw, lcw }];
}

export function refDpfEval(b: number, k: RefDpfKey, n: number, nu: number, x: bigint): bigint {
  let s = k.root, t = b;
  for (let i = 1; i <= n - nu; i++) {
    const d = bitMsb(x, n, i);
    let [s2, t2] = refExpand(s, d);
    if (t) {
      s2 ^= k.cw[i - 1] & ~3n;
      t2 ^= Number((k.cw[i - 1] >> BigInt(d)) & 1n);
    }
    s = s2;
    t = t2;
  }
  const m = 2 ** nu, j = Number(x % BigInt(m));
  const W = refWords(s, 2, m);
  return sgn(b, W[j] + (t ? k.lcw[j] : 0n));
}
