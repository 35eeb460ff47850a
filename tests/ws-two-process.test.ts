/**
 * Two real processes over loopback WebSockets: P0 and the dealer service run in this (jest)
 * process, P1 in a forked child (tests/fixtures/party-process.js, on the compiled packages). The
 * result must equal the in-memory run with the same seeds: same output shares, same ledger bytes.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import {
  Ledger,
  listenWs,
  reconstruct,
  share,
  tensor,
  WsChannel,
  type Cost,
  type RingTensor,
  type WsListener,
} from '@mpcache/mpc-core';
import * as protocols from '@mpcache/protocols';
import {
  ChannelDealerLink,
  correlationRegistry,
  CorrelationSource,
  DealerSession,
  localParties,
  makePartyContext,
  mulTriples,
  runBoth,
  serveDealerSession,
  squarePairs,
  type PartyContext,
} from '@mpcache/protocols';
import { testPrg, TEST_SEED } from '../packages/protocols/test/helpers';

type ProtocolEntry = { inputs: number; run: (lib: unknown, ctx: PartyContext, inputs: RingTensor[]) => Promise<RingTensor> };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { PROTOCOLS } = require('./fixtures/party-process.js') as { PROTOCOLS: Record<string, ProtocolEntry> };

const FIXTURE = path.join(__dirname, 'fixtures', 'party-process.js');
const DIST = path.join(__dirname, '..', 'packages', 'protocols', 'dist', 'index.js');

interface ChildReply {
  result?: { output: RingTensor; cost: Cost; scopes: Record<string, Cost> };
  error?: { name: string; code?: string; message: string };
}

/** A promise that resolves with the next accepted channel for `route`. */
function router() {
  const waiting = new Map<string, (c: WsChannel) => void>();
  const ready = new Map<string, Promise<WsChannel>>();
  const want = (route: string) => {
    if (!ready.has(route)) ready.set(route, new Promise((r) => waiting.set(route, r)));
    return ready.get(route)!;
  };
  const accept = (c: WsChannel, route: string) => {
    const resolve = waiting.get(route);
    if (!resolve) return c.close('unknown route');
    waiting.delete(route);
    resolve(c);
  };
  return { want, accept };
}

async function runTwoProcess(protocol: string, inputs: RingTensor[][], seeds: { dealerP0: Uint8Array; dealerP1: Uint8Array; common: Uint8Array }) {
  let child: ChildProcess | undefined;
  let listener: WsListener | undefined;
  const ledger0 = new Ledger();
  const routes = router();
  const peerP0 = routes.want('/peer');
  const dealerP0 = routes.want('/dealer/0');
  const dealerP1 = routes.want('/dealer/1');
  try {
    listener = await listenWs(
      { host: '127.0.0.1', port: 0, channel: (req) => (req.url === '/peer' ? { ledger: ledger0 } : {}) },
      (c, req) => routes.accept(c, req.url ?? ''),
    );
    const session = new DealerSession(seeds.dealerP0, seeds.dealerP1);
    const registry = correlationRegistry([mulTriples, squarePairs]);
    const served = Promise.all([dealerP0, dealerP1]).then((ch) => serveDealerSession(session, ch, registry));

    child = fork(FIXTURE, [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const exited = new Promise<number | null>((r) => child!.once('exit', (code) => r(code)));
    const reply = new Promise<ChildReply>((resolve, reject) => {
      child!.once('message', (m) => resolve(m as ChildReply));
      void exited.then((code) => reject(new Error(`party process exited with code ${code} before replying`)));
    });
    child.send({
      peerUrl: `${listener.url}/peer`,
      dealerUrl: `${listener.url}/dealer/1`,
      protocol,
      fracBits: 12,
      seeds: { dealerP1: seeds.dealerP1, common: seeds.common },
      inputs: inputs.map((t) => t[1]),
    });

    const p1 = reply.then((r) => {
      if (r.error) throw new Error(`party 1 failed: ${r.error.name} ${r.error.code ?? ''} ${r.error.message}`);
      return r.result!;
    });
    // P0, here; its dealer link is a WebSocket too.
    const dealerLink0 = new ChannelDealerLink(await WsChannel.connect(`${listener.url}/dealer/0`));
    const p0 = (async () => {
      const peer = await peerP0;
      const source = new CorrelationSource(0, seeds.dealerP0, dealerLink0, ledger0);
      const ctx = makePartyContext(0, peer, ledger0, source, seeds.common, 12);
      return PROTOCOLS[protocol].run(protocols, ctx, inputs.map((t) => t[0]));
    })();
    // A failing child rejects at once; `finally` then closes the listener, which fails P0 too.
    const [z0, r1] = await Promise.all([p0, p1]);
    dealerLink0.close();
    await served;
    expect(await exited).toBe(0);
    return { z0, z1: r1.output, cost: [ledger0.snapshot(), r1.cost], scopes1: r1.scopes, ledger0 };
  } finally {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await listener?.close();
  }
}

describe(`two processes over loopback WebSockets (SEED=${TEST_SEED})`, () => {
  beforeAll(() => {
    if (!existsSync(DIST)) throw new Error('packages/protocols/dist is missing: run `npx tsc -b packages/protocols` first');
  });

  it('beaverMul: P1 in a child process gives the in-memory result, shares and exact bytes', async () => {
    const n = 4096;
    const prg = testPrg('two-process-mul');
    const x = tensor([n], prg.words(n)), y = tensor([n], prg.words(n));
    const xs = share(x, prg), ys = share(y, prg);
    const seeds = { dealerP0: randomBytes(16), dealerP1: randomBytes(16), common: randomBytes(16) };

    const ws = await runTwoProcess('beaverMul', [xs, ys], seeds);

    const z = reconstruct(ws.z0, ws.z1);
    for (let i = 0; i < n; i++) expect(z.data[i]).toBe(BigInt.asUintN(64, x.data[i] * y.data[i]));

    const mem = localParties({ seeds });
    const [w0, w1] = await runBoth(mem, (ctx) => protocols.beaverMul(ctx, xs[ctx.party], ys[ctx.party]));
    expect(Buffer.from(ws.z0.data.buffer).equals(Buffer.from(w0.data.buffer))).toBe(true);
    expect(Buffer.from(ws.z1.data.buffer).equals(Buffer.from(w1.data.buffer))).toBe(true);
    expect(ws.cost[0]).toEqual(mem.ctx[0].ledger.snapshot());
    expect(ws.cost[1]).toEqual(mem.ctx[1].ledger.snapshot());
    expect(ws.ledger0.get('beaverMul')).toMatchObject({ rounds: 1, bytesSent: protocols.beaverMulCost(n).bytesSent });
    expect(ws.scopes1.beaverMul).toEqual(mem.ctx[1].ledger.get('beaverMul'));
  });

  it('fails cleanly (no hang, child reaped) when P1 asks for a protocol it does not know', async () => {
    const prg = testPrg('two-process-bad');
    const x = share(tensor([4], prg.words(4)), prg);
    const seeds = { dealerP0: randomBytes(16), dealerP1: randomBytes(16), common: randomBytes(16) };
    PROTOCOLS.onlyInParent = { inputs: 1, run: (_lib, ctx, [t]) => protocols.beaverSquare(ctx, t) };
    try {
      await expect(runTwoProcess('onlyInParent', [x], seeds)).rejects.toThrow(/party 1 failed: Error +unknown protocol/);
    } finally {
      delete PROTOCOLS.onlyInParent;
    }
  });
});
