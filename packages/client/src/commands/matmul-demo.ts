/**
 * `mpcache demo --matmul`: a secure fixed-point matrix product between two parties over real
 * loopback WebSockets (dealer reached over WebSockets too), printed beside the plaintext product
 * with its exact cost. The smallest end-to-end run of the protocol stack.
 */
import { randomBytes } from 'node:crypto';
import { decode, encode, Ledger, share, WsChannel } from '@mpcache/mpc-core';
import {
  beaverMatmul,
  ChannelDealerLink,
  CorrelationSource,
  DealerSession,
  makePartyContext,
  openTensor,
  runBoth,
  serveDealerSession,
} from '@mpcache/protocols';
import { allCorrelationSpecs } from '@mpcache/party-server';
import { fmtBytes } from '../cli-util';

export async function matmulDemo() {
  const f = 12;
  const m = 3, k = 4, n = 2;
  const a = Array.from({ length: m * k }, (_, i) => Math.round((Math.sin(i + 1) * 3) * 100) / 100);
  const b = Array.from({ length: k * n }, (_, i) => Math.round((Math.cos(i + 1) * 2) * 100) / 100);
  const seeds = { d0: randomBytes(16), d1: randomBytes(16), common: randomBytes(16) };
  const ledgers = [new Ledger(), new Ledger()];
  const [p0, p1] = await WsChannel.pair({ ledger: ledgers[0] }, { ledger: ledgers[1] });
  const [d0, l0] = await WsChannel.pair();
  const [d1, l1] = await WsChannel.pair();
  const dealer = serveDealerSession(new DealerSession(seeds.d0, seeds.d1), [d0, d1], allCorrelationSpecs());
  const ctx = [p0, p1].map((ch, p) =>
    makePartyContext(p as 0 | 1, ch, ledgers[p], new CorrelationSource(p as 0 | 1, p ? seeds.d1 : seeds.d0, new ChannelDealerLink(p ? l1 : l0), ledgers[p]), seeds.common, f),
  ) as [ReturnType<typeof makePartyContext>, ReturnType<typeof makePartyContext>];
  const A = share({ shape: [m, k], data: encode(a, f) });
  const B = share({ shape: [k, n], data: encode(b, f) });
  const t0 = performance.now();
  const [c0] = await runBoth({ ctx, dealer: undefined as never }, async (c) => {
    const prod = await c.ledger.scope('matmul', () => beaverMatmul(c, A[c.party], B[c.party]));
    return openTensor(c, prod); // the demo reveals the product to both parties
  });
  const ms = performance.now() - t0;
  const secure = decode(c0.data, 2 * f);
  const plain: number[] = [];
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let p = 0; p < k; p++) s += a[i * k + p] * b[p * n + j];
    plain.push(s);
  }
  const cost = ledgers[0].get('matmul');
  process.stdout.write(`secure ${m}×${k} · ${k}×${n} matrix product over loopback WebSockets\n`);
  for (let i = 0; i < m * n; i++) process.stdout.write(`  [${(i / n) | 0},${i % n}]  secure ${secure[i].toFixed(4).padStart(9)}   plaintext ${plain[i].toFixed(4).padStart(9)}\n`);
  process.stdout.write(`cost per party: ${cost.rounds} round, ${fmtBytes(cost.bytesSent)} online, ${fmtBytes(cost.offlineBytes)} offline (P0), ${ms.toFixed(1)} ms\n`);
  for (const c of [p0, p1, l0, l1]) c.close('demo done');
  await dealer.catch(() => undefined);
  return { secure: Array.from(secure), plaintext: plain, cost, ms };
}

