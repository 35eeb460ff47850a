/**
 * fss-bench — timings of the FSS kernels (DCF/DPF key generation and evaluation) and of the
 * comparisons built on them, optionally side by side with a baseline build in the SAME run
 * (alternating, best of `reps`), so host noise on the shared 2-core machine hits both alike.
 *
 *   npx tsc -b packages/protocols && npm run build:wasm
 *   node packages/protocols/bench/fss-bench.js [--baseline <protocols dist dir>] [--reps 3] [--only dcfEval]
 *
 * A baseline is any compiled protocols dist, e.g. of an older commit:
 *   git worktree add /tmp/base <commit> … or simply copy packages/protocols/dist before a change.
 * With a baseline, every case also checks that both builds give bit-identical outputs (same roots,
 * α, β, x): the speed-ups must not change a single output word.
 *
 * Not a jest test on purpose (timings, seconds per case). Results: see the headers of
 * src/fss/dcf-eval.ts, dcf-keygen.ts, dpf-eval.ts and fss-wasm.ts.
 */
'use strict';
const path = require('node:path');
const { randomBytes, createHash } = require('node:crypto');

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const reps = Number(opt('reps', '3'));
const only = opt('only', '');
const impls = [];
const base = opt('baseline', '');
if (base) impls.push({ name: 'baseline', lib: require(path.resolve(base, 'index.js')) });
impls.push({ name: 'current', lib: require(path.resolve(opt('current', path.join(__dirname, '../dist')), 'index.js')) });

const words = (n) => new BigUint64Array(randomBytes(8 * n).buffer.slice(0));
const seeds = (n) => {
  const s = new Uint8Array(randomBytes(16 * n));
  for (let i = 0; i < s.length; i += 16) s[i] &= 0xfc;
  return s;
};
const digest = (a) => createHash('sha256').update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest('hex').slice(0, 16);

/** Runs `fn(lib)` alternately for every impl, `reps` times; prints best and median ms; checks digests. */
async function bench(name, fn) {
  if (only && !name.includes(only)) return;
  const times = impls.map(() => []), digests = impls.map(() => undefined);
  for (let r = 0; r < reps; r++) {
    for (let k = 0; k < impls.length; k++) {
      const t0 = process.hrtime.bigint();
      const out = await fn(impls[k].lib);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      // a case may time only part of its work: it then returns { ms }
      times[k].push(out && typeof out.ms === 'number' ? out.ms : ms);
      if (out && out.buffer) digests[k] = digest(out);
    }
  }
  const stat = (ts) => {
    const s = [...ts].sort((a, b) => a - b);
    return { best: s[0], med: s[s.length >> 1] };
  };
  const parts = impls.map((im, k) => {
    const { best, med } = stat(times[k]);
    return `${im.name} best ${best.toFixed(1)} ms (median ${med.toFixed(1)})`;
  });
  let line = `${name.padEnd(40)} ${parts.join('   ')}`;
  if (impls.length === 2) {
    line += `   speed-up ×${(stat(times[0]).best / stat(times[1]).best).toFixed(2)}`;
    if (digests[0] !== undefined && digests[0] !== digests[1]) line += '   OUTPUTS DIFFER';
    else if (digests[0] !== undefined) line += '   outputs identical';
  }
  console.log(line);
}

function dcfCase(N, n, m) {
  const alpha = words(N), beta = words(N * m), r0 = seeds(N), r1 = seeds(N), x = words(N);
  return { N, n, m, alpha, beta, r0, r1, x };
}

async function main() {
  console.log(`fss-bench ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, reps ${reps}` +
    (base ? `, baseline ${base}` : ''));
  for (const [n, m] of [[63, 1], [63, 2], [63, 3], [15, 1]]) {
    const N = 65536, c = dcfCase(N, n, m);
    let cws;
    await bench(`dcfGen  N=2^16 n=${n} m=${m}`, (lib) => (cws = lib.dcfGen(new lib.FssPrg(), n, m, c.alpha, c.beta, c.r0, c.r1)));
    // evaluation uses the current build's key bytes for both (the digests above prove they are equal)
    for (const party of [0, 1]) {
      await bench(`dcfEval N=2^16 n=${n} m=${m} P${party}`, (lib) =>
        lib.dcfEval(new lib.FssPrg(), party, { n, m, count: N, roots: party ? c.r1 : c.r0, cws }, c.x));
    }
  }
  for (const [N, n, nu] of [[16384, 8, 3], [1024, 12, 3], [65536, 64, 1]]) {
    const alpha = words(N), beta = words(N), r0 = seeds(N), r1 = seeds(N), shift = words(N);
    let bytes;
    await bench(`dpfGen  N=${N} n=${n} nu=${nu}`, (lib) => (bytes = lib.dpfGen(new lib.FssPrg(), n, nu, alpha, beta, r0, r1)));
    const cwLen = 16 * (n - nu) * N;
    const keys = (party) => ({
      n, nu, count: N, party, roots: party ? r1 : r0, cw: bytes.subarray(0, cwLen),
      lcw: new BigUint64Array(bytes.buffer, bytes.byteOffset + cwLen, 2 ** nu * N),
    });
    if (n <= 16) {
      const width = 2 ** n;
      await bench(`dpfEvalFullRotated N=${N} n=${n} (sink)`, (lib) => {
        const h = createHash('sha256');
        lib.dpfEvalFullRotated(keys(1), shift, width, new lib.FssPrg(), (k0, cnt, block) => h.update(new Uint8Array(block.buffer, block.byteOffset, block.byteLength)));
        return new Uint8Array(h.digest());
      });
      await bench(`dpfEvalFull N=${N} n=${n}`, (lib) => lib.dpfEvalFull(keys(0), new lib.FssPrg()));
    } else {
      await bench(`dpfEvalPoint N=${N} n=${n} P1`, (lib) => lib.dpfEvalPoint(keys(1), shift, new lib.FssPrg()));
    }
  }
  // end to end, both parties in one process (in-memory channel), correlations prefetched (untimed)
  for (const [name, run] of [
    ['ltz', (lib, ctx, x) => lib.dcfLessThanZero(ctx, x)],
    ['relu', (lib, ctx, x) => lib.relu(ctx, x)],
    ['lut8', (lib, ctx, x) => lib.lookupTable(ctx, x, 8, [lib.tableOf(8, (v) => BigInt(v * v), true)])],
  ]) {
    const N = name === 'lut8' ? 16384 : 65536;
    const xs = [words(N), words(N)].map((d) => ({ shape: [N], data: d.map((v) => v >> 20n) }));
    await bench(`e2e ${name}[${N}] (both parties)`, async (lib) => {
      // record the request sequence with a throw-away run, then prefetch it (the offline phase)
      const rec = [];
      const probe = lib.localParties();
      probe.ctx[0].dealer.recording = rec;
      await lib.runBoth(probe, (ctx) => run(lib, ctx, xs[ctx.party]));
      const parties = lib.localParties();
      await Promise.all(parties.ctx.map((ctx) => ctx.dealer.prefetch(rec)));
      const t0 = process.hrtime.bigint();
      await lib.runBoth(parties, (ctx) => run(lib, ctx, xs[ctx.party]));
      return { ms: Number(process.hrtime.bigint() - t0) / 1e6 };
    });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
