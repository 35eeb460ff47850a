/**
 * Out-of-band tags (`divert`, mailbox.ts) on both channel implementations: a diverted message
 * reaches its handler whatever the receiver waits for, never breaks the protocol's message order,
 * is counted in the ledger, is handled before a close that follows it, and never after one.
 */
import { ChannelClosedError, Ledger, MemoryChannel, WsChannel, type ChannelOptions } from '@mpcache/mpc-core';
import { closedAfterEach } from './channel-suite';

type Divertible = MemoryChannel | WsChannel;
const NOTICE = 0xffff_fffc;
const MARKER = 0xffff_fffb;

const impls: [string, (a?: ChannelOptions, b?: ChannelOptions) => Promise<[Divertible, Divertible]>][] = [
  ['MemoryChannel', async (a, b) => MemoryChannel.pair(a, b)],
  ['WsChannel (loopback)', (a, b) => WsChannel.pair(a, b)],
];

describe.each(impls)('divert on %s', (_name, makePair) => {
  const pair = closedAfterEach(makePair, async (c) => (c instanceof WsChannel ? c.whenSocketClosed() : undefined));

  it('hands a diverted message to its handler while a recv waits for another tag, which still gets its message', async () => {
    const [a, b] = await pair();
    const seen: number[] = [];
    b.divert(NOTICE, (p) => seen.push(p[0]));
    const waiting = b.recv(7);
    a.send(NOTICE, Uint8Array.of(42));
    a.send(7, Uint8Array.of(1));
    expect(Array.from(await waiting)).toEqual([1]); // no MPC_ERR_BAD_TAG
    expect(seen).toEqual([42]);
  });

  it('hands over one already queued at divert time; the other queued messages keep their order', async () => {
    const [a, b] = await pair();
    let marked!: () => void;
    const allQueued = new Promise<void>((r) => (marked = r));
    b.divert(MARKER, () => marked()); // arrives last: everything before it is queued by then
    a.send(1, Uint8Array.of(1));
    a.send(NOTICE, Uint8Array.of(42));
    a.send(2, Uint8Array.of(2));
    a.send(MARKER, new Uint8Array(0));
    await allQueued;
    const seen: number[] = [];
    b.divert(NOTICE, (p) => seen.push(p[0]));
    expect(seen).toEqual([42]);
    expect(Array.from(await b.recv(1))).toEqual([1]);
    expect(Array.from(await b.recv(2))).toEqual([2]);
  });

  it('is counted in the receiver ledger like any message', async () => {
    const ledger = new Ledger();
    const [a, b] = await pair({}, { ledger });
    let got: Uint8Array | undefined;
    b.divert(NOTICE, (p) => (got = p));
    a.send(NOTICE, new Uint8Array(13));
    a.send(3, new Uint8Array(5));
    await b.recv(3);
    expect(got?.byteLength).toBe(13);
    expect(ledger.snapshot()).toMatchObject({ bytesReceived: 18 });
  });

  it('a notice sent just before a close is handled first; nothing is handed over after the close', async () => {
    const [a, b] = await pair();
    const seen: string[] = [];
    b.divert(NOTICE, () => seen.push(b.closed ? 'after close' : 'notice'));
    const waiting = b.recv(9);
    a.send(NOTICE, new Uint8Array(1));
    a.close('bye');
    await expect(waiting).rejects.toThrow(ChannelClosedError);
    expect(seen).toEqual(['notice']);
    const [c, d] = await pair();
    const late: number[] = [];
    d.divert(NOTICE, (p) => late.push(p[0]));
    d.close('done here');
    try {
      c.send(NOTICE, Uint8Array.of(1)); // a WebSocket end may not have seen the close yet
    } catch {
      // a memory pair closes both ends at once
    }
    await new Promise((r) => setTimeout(r, 50));
    expect(late).toEqual([]);
  });
});
