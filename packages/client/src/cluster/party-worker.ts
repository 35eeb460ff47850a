/**
 * A party (P0 or P1) in a worker thread of the local cluster: agrees seeds by X25519 + HKDF with
 * the dealer and its peer, connects its two WebSockets (peer, dealer) and runs the jobs the
 * orchestrator posts. Shares never leave the worker except bench outputs (public test data).
 */
import { parentPort } from 'node:worker_threads';
import {
  generateKeyPair,
  Ledger,
  LINK_PROFILES,
  listenWs,
  newLinkNonce,
  WsChannel,
  type Channel,
} from '@mpcache/mpc-core';
import { ChannelDealerLink, CorrelationSource, makePartyContext, type PartyContext } from '@mpcache/protocols';
import { runOpCase } from '../bench/run-op-case';
import { standardOpCases } from '../bench/op-cases';
import type { FromWorker, ToWorker, WorkerInit } from './cluster-messages';
import { clusterPartySeeds } from './cluster-seeds';
import { partyFailure } from './party-messages';

const port = parentPort;
if (!port) throw new Error('party-worker must run in a worker thread');

const keys = generateKeyPair();
const nonce = newLinkNonce();
let ctx: PartyContext | undefined;
let init: WorkerInit | undefined;
let dealerLink: ChannelDealerLink | undefined;
let resolvePeer: ((c: Channel) => void) | undefined;
const post = (m: FromWorker) => port.postMessage(m);

port.on('message', (m: ToWorker) => {
  handle(m).catch((e: Error & { code?: string }) => post(partyFailure(e, 'id' in m ? m.id : undefined)));
});
post({ type: 'hello', publicKey: keys.publicKey, nonce });

async function handle(m: ToWorker): Promise<void> {
  switch (m.type) {
    case 'init':
      return setUp(m);
    case 'connect': {
      const ch = await WsChannel.connect(m.peerUrl, channelOptions());
      resolvePeer?.(ch);
      return;
    }
    case 'job': {
      const { name, reps, seed } = m.job;
      const c = standardOpCases().find((x) => x.name === name);
      if (!c) throw new RangeError(`unknown op case "${name}"`);
      const result = await runOpCase(need(ctx), c, reps, seed);
      post({ type: 'jobDone', id: m.id, result });
      return;
    }
    case 'close':
      ctx?.channel.close('cluster closing');
      dealerLink?.close();
      port!.close();
      return;
  }
}

const ledger = new Ledger();

function channelOptions() {
  return { ledger, link: LINK_PROFILES[need(init).net] };
}

async function setUp(m: WorkerInit): Promise<void> {
  init = m;
  const { dealerSeed, commonSeed } = clusterPartySeeds(keys, nonce, m);
  const dealerChannel = await WsChannel.connect(`${m.dealerUrl}/p${m.party}`, {}); // no ledger: offline traffic
  dealerLink = new ChannelDealerLink(dealerChannel);
  const peer = new Promise<Channel>((resolve) => (resolvePeer = resolve));
  if (m.party === 0) {
    const listener = await listenWs({ host: '127.0.0.1', port: 0, channel: channelOptions() }, (ch) => {
      listener.stopAccepting();
      resolvePeer?.(ch);
    });
    post({ type: 'listening', url: listener.url });
  }
  const channel = await peer;
  const source = new CorrelationSource(m.party, dealerSeed, dealerLink, ledger);
  ctx = makePartyContext(m.party, channel, ledger, source, commonSeed, m.fracBits);
  post({ type: 'ready' });
}

function need<T>(x: T | undefined): T {
  if (x === undefined) throw new Error('worker not initialised');
  return x;
}
