/**
 * fss-bench — timings of the FSS kernels (DCF/DPF key generation and evaluation) and of the
 * comparisons built on them, optionally side by side with a baseline build in the SAME run (one
 * untimed warm-up, then alternating, best of `reps`), so host noise on the shared 2-core machine
 * hits both alike.
 *
 *   npm run build:wasm && npx tsc -b packages/protocols
 *   node --expose-gc packages/protocols/bench/fss-bench.js [--baseline <protocols dist dir>] [--reps 3] [--only dcfEval]
 *
 * A baseline is any compiled protocols dist kept INSIDE the repository (so that @mpcache/mpc-core
 * resolves), e.g. `cp -r packages/protocols/dist tmp/fss-baseline/dist` before rebuilding a change
 * (tmp/ is git-ignored). With a baseline, every case also checks that both builds give bit-identical
 * outputs (same roots, α, β, x): the speed-ups must not change a single output word.
 *
 * Not a jest test on purpose (timings, seconds per case). Results: see the headers of
 * src/fss/dcf-eval.ts, dcf-keygen.ts, dpf-eval.ts and dpf-keygen.ts.
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

const current = impls[impls.length - 1].lib;
const words = (n) => new BigUint64Array(randomBytes(8 * n).buffer.slice(0));
const seeds = (n) => {
  const s = new Uint8Array(randomBytes(16 * n));
  for (let i = 0; i < s.length; i += 16) s[i] &= 0xfc;
  return s;
};
const digest = (a) => createHash('sha256').update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest('hex').slice(0, 16);

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/**
 * Runs `fn(lib)` alternately for every impl, `reps` times; prints the best wall-clock and the best
 * process CPU time (user + system, all threads: robust when other jobs share the cores, but it also
 * counts GC helper threads) and checks that the outputs are identical.
 */
async function bench(name, fn) {
  if (only && !name.includes(only)) return;
  const wall = impls.map(() => []), cpu = impls.map(() => []), digests = impls.map(() => undefined);
  for (const im of impls) await fn(im.lib); // warm-up (wasm tier-up, JIT), untimed
  for (let r = 0; r < reps; r++) {
    for (let k = 0; k < impls.length; k++) {
      const t0 = process.hrtime.bigint(), c0 = cpuMs();
      const out = await fn(impls[k].lib);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6, cms = cpuMs() - c0;
      // a case may time only part of its work: it then returns { ms, cpu }
      wall[k].push(out && typeof out.ms === 'number' ? out.ms : ms);
      cpu[k].push(out && typeof out.cpu === 'number' ? out.cpu : cms);
      if (out && out.buffer) digests[k] = digest(out);
    }
  }
  const best = (ts) => Math.min(...ts);
  const parts = impls.map((im, k) => `${im.name} ${best(wall[k]).toFixed(1)} ms (cpu ${best(cpu[k]).toFixed(1)})`);
  let line = `${name.padEnd(38)} ${parts.join('   ')}`;
  if (impls.length === 2) {
    line += `   ×${(best(wall[0]) / best(wall[1])).toFixed(2)} (cpu ×${(best(cpu[0]) / best(cpu[1])).toFixed(2)})`;
    if (digests[0] !== undefined && digests[0] !== digests[1]) line += '   OUTPUTS DIFFER';
    else if (digests[0] !== undefined) line += '   identical';
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
    await bench(`dcfGen  N=2^16 n=${n} m=${m}`, (lib) => lib.dcfGen(new lib.FssPrg(), n, m, c.alpha, c.beta, c.r0, c.r1));
    // evaluation uses the current build's key bytes for both (dcfGen's digests show they are equal)
    const cws = current.dcfGen(new current.FssPrg(), n, m, c.alpha, c.beta, c.r0, c.r1);
    for (const party of [0, 1]) {
      await bench(`dcfEval N=2^16 n=${n} m=${m} P${party}`, (lib) =>
        lib.dcfEval(new lib.FssPrg(), party, { n, m, count: N, roots: party ? c.r1 : c.r0, cws }, c.x));
    }
  }
  for (const [N, n, nu] of [[16384, 8, 3], [1024, 12, 3], [65536, 64, 1]]) {
    const alpha = words(N), beta = words(N), r0 = seeds(N), r1 = seeds(N), shift = words(N);
    await bench(`dpfGen  N=${N} n=${n} nu=${nu}`, (lib) => lib.dpfGen(new lib.FssPrg(), n, nu, alpha, beta, r0, r1));
    const bytes = current.dpfGen(new current.FssPrg(), n, nu, alpha, beta, r0, r1);
    const cwLen = 16 * (n - nu) * N;
    const keys = (party) => ({
      n, nu, count: N, party, roots: party ? r1 : r0, cw: bytes.subarray(0, cwLen),
      lcw: new BigUint64Array(bytes.buffer, bytes.byteOffset + cwLen, 2 ** nu * N),
    });
    if (n <= 16) {
      const width = 2 ** n;
      await bench(`dpfEvalFullRotated N=${N} n=${n} (sink)`, (lib) => {
        const fold = new Uint32Array(1); // cheap checksum of every output word (same cost for both builds)
        let h = 0;
        lib.dpfEvalFullRotated(keys(1), shift, width, new lib.FssPrg(), (k0, cnt, block) => {
          const b = new Uint32Array(block.buffer, block.byteOffset, 2 * block.length);
          for (let i = 0; i < b.length; i++) h = (Math.imul(h, 31) + b[i]) | 0;
        });
        fold[0] = h;
        return fold;
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
      // run with --expose-gc so that garbage of the previous case is not collected inside the timing
      // record the request sequence with a throw-away run, then prefetch it (the offline phase)
      const rec = [];
      const probe = lib.localParties();
      probe.ctx[0].dealer.recording = rec;
      await lib.runBoth(probe, (ctx) => run(lib, ctx, xs[ctx.party]));
      const parties = lib.localParties();
      await Promise.all(parties.ctx.map((ctx) => ctx.dealer.prefetch(rec)));
      if (global.gc) global.gc();
      const t0 = process.hrtime.bigint(), c0 = cpuMs();
      await lib.runBoth(parties, (ctx) => run(lib, ctx, xs[ctx.party]));
      return { ms: Number(process.hrtime.bigint() - t0) / 1e6, cpu: cpuMs() - c0 };
    });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
