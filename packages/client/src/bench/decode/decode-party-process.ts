/**
 * A party (P0 or P1) of `bench decode` in its own process (forked by decode-cluster.ts with
 * `serialization: 'advanced'` and --expose-gc). It agrees seeds by X25519 + HKDF with the dealer
 * and its peer (public keys over IPC, secret keys never leave this process), connects its two
 * WebSockets (peer, with the `--net` link emulation on its sends; dealer), loads its share of the
 * model's weights (local owner with a fixed seed: local-weight-shares.ts), masks them once for the
 * session, drops the float weights and the unmasked shares, then runs the rows the orchestrator
 * sends. Only costs, timings and memory figures go back; shares never leave.
 *
 * Exits when told to close or when the orchestrator goes away (IPC disconnect).
 */
import {
  generateKeyPair, Ledger, LINK_PROFILES, listenWs, newLinkNonce, WsChannel, type Channel, type WsListener,
} from '@mpcache/mpc-core';
import { ChannelDealerLink, CorrelationSource, makePartyContext, type PartyContext } from '@mpcache/protocols';
import { maskModelWeights, type SecureWeights } from '@mpcache/mpcache';
import { localWeightShares } from '@mpcache/party-server';
import { BENCH_MAX_FRAME_BYTES } from './bench-limits';
import { clusterPartySeeds } from '../../cluster/cluster-seeds';
import { partyFailure } from '../../cluster/party-messages';
import type { FromParty, PartyInit, ToParty } from './decode-messages';
import { runDecodeRow } from './decode-row';
import { collectGarbage, currentRssMB, lifetimeMaxRssMB } from './rss-sampler';

const send = (m: FromParty) => process.send?.(m);
const keys = generateKeyPair();
const nonce = newLinkNonce();
const ledger = new Ledger();
let init: PartyInit | undefined;
let ctx: PartyContext | undefined;
let weights: SecureWeights | undefined;
let dealerChannel: Channel | undefined;
let peerListener: WsListener | undefined;
let resolvePeer!: (c: Channel) => void;
/** The P0↔P1 channel: P0 accepts it, P1 dials it on 'connect' (which may arrive before set-up ends). */
const peer = new Promise<Channel>((resolve) => (resolvePeer = resolve));
let queue: Promise<void> = Promise.resolve();

if (!process.send) throw new Error('decode-party-process must be started with child_process.fork');
process.on('message', (m: ToParty) => {
  const fail = (e: Error & { code?: string }) => {
    if (process.env.MPCACHE_BENCH_DEBUG) process.stderr.write(`P${init?.party}: ${e.stack}\n`);
    send(partyFailure(e, 'id' in m ? m.id : undefined));
  };
  // 'connect' completes the set-up in progress; everything else runs one at a time, in arrival order
  if (m.type === 'connect') handle(m).catch(fail);
  else queue = queue.then(() => handle(m)).catch(fail);
});
process.on('disconnect', () => process.exit(0));
send({ type: 'hello', publicKey: keys.publicKey, nonce });

async function handle(m: ToParty): Promise<void> {
  switch (m.type) {
    case 'init':
      return setUp(m);
    case 'connect':
      resolvePeer(await WsChannel.connect(m.peerUrl, peerOptions()));
      return;
    case 'job': {
      const result = await runDecodeRow(need(ctx), need(weights), m.job);
      send({ type: 'jobDone', id: m.id, result });
      return;
    }
    case 'close':
      ctx?.channel.close('bench done');
      dealerChannel?.close('bench done');
      await peerListener?.close();
      process.disconnect();
      return;
  }
}


function peerOptions() {
  return { ledger, link: LINK_PROFILES[need(init).net], maxFrameBytes: BENCH_MAX_FRAME_BYTES };
}

async function setUp(m: PartyInit): Promise<void> {
  init = m;
  const t0 = performance.now();
  const { dealerSeed, commonSeed } = clusterPartySeeds(keys, nonce, m);
  dealerChannel = await WsChannel.connect(`${m.dealerUrl}/p${m.party}`, { maxFrameBytes: BENCH_MAX_FRAME_BYTES }); // no ledger: offline traffic is counted by the source
  if (m.party === 0) {
    peerListener = await listenWs({ host: '127.0.0.1', port: 0, channel: peerOptions() }, (ch) => {
      peerListener?.stopAccepting();
      resolvePeer(ch);
    });
    send({ type: 'listening', url: peerListener.url });
  }
  const channel = await peer;
  const source = new CorrelationSource(m.party, dealerSeed, new ChannelDealerLink(dealerChannel), ledger);
  ctx = makePartyContext(m.party, channel, ledger, source, commonSeed, m.fracBits);
  // weights: this party's share (the float weights are dropped with `shares` once masked)
  const before = ledger.snapshot();
  let shares: ReturnType<typeof localWeightShares> | undefined = localWeightShares(m.party, m.model, { fracBits: m.fracBits });
  weights = await maskModelWeights(ctx, shares);
  shares = undefined;
  collectGarbage();
  const after = ledger.snapshot();
  send({
    type: 'ready',
    setupMs: Math.round(performance.now() - t0),
    rssMB: currentRssMB(),
    maxRssMB: lifetimeMaxRssMB(),
    maskCost: { rounds: after.rounds - before.rounds, bytesSent: after.bytesSent - before.bytesSent, bytesReceived: after.bytesReceived - before.bytesReceived, messages: after.messages - before.messages, offlineBytes: after.offlineBytes - before.offlineBytes },
  });
}

function need<T>(x: T | undefined): T {
  if (x === undefined) throw new Error('bench party not initialised');
  return x;
}
