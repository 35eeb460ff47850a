import WebSocket from 'ws';
import {
  ChannelClosedError,
  encodeFrame,
  LimitError,
  listenWs,
  ProtocolError,
  WsChannel,
  type Channel,
  type WsListener,
} from '@mpcache/mpc-core';
import { describeChannel, eventually } from './channel-suite';

describeChannel('WsChannel (loopback)', (a, b) => WsChannel.pair(a, b), {
  settle: (c: Channel) => (c as WsChannel).whenSocketClosed(),
});

/** A raw ws client that speaks whatever bytes the test wants. */
async function rawClient(url: string): Promise<{ ws: WebSocket; closed: Promise<number> }> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
  ws.on('error', () => undefined);
  await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
  return { ws, closed };
}

function header(tag: number, declared: number): Buffer {
  const h = Buffer.alloc(10);
  h[0] = 0x4d;
  h[1] = 1;
  h.writeUInt32LE(tag, 2);
  h.writeUInt32LE(declared, 6);
  return h;
}

describe('WsChannel: malformed input from a raw client', () => {
  const maxFrameBytes = 1024;
  let listener: WsListener;
  const next: Array<(c: WsChannel) => void> = [];
  const nextChannel = () => new Promise<WsChannel>((r) => next.push(r));

  beforeAll(async () => {
    listener = await listenWs({ host: '127.0.0.1', port: 0, channel: { maxFrameBytes } }, (c) => {
      next.shift()?.(c);
    });
  });
  afterAll(() => listener.close());

  /** Serve one raw connection; send `bytes`; return the server's receive error and the close code. */
  async function serveGarbage(send: (ws: WebSocket) => void) {
    const ch = nextChannel();
    const { ws, closed } = await rawClient(listener.url);
    const server = await ch;
    const err = server.recv(0).then(
      () => new Error('recv resolved'),
      (e: Error) => e,
    );
    send(ws);
    return { err: await err, code: await closed, server };
  }

  const cases: Array<[string, (ws: WebSocket) => void, string, string, number]> = [
    ['garbage bytes (bad magic)', (ws) => ws.send(Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])), 'ProtocolError', 'MPC_ERR_BAD_FRAME', 1002],
    ['a truncated header', (ws) => ws.send(Buffer.from([0x4d, 1, 0])), 'ProtocolError', 'MPC_ERR_BAD_FRAME', 1002],
    ['a wrong version', (ws) => ws.send(Buffer.concat([Buffer.from([0x4d, 2]), Buffer.alloc(8)])), 'ProtocolError', 'MPC_ERR_BAD_FRAME', 1002],
    ['a text message', (ws) => ws.send('hello'), 'ProtocolError', 'MPC_ERR_BAD_FRAME', 1002],
    ['a truncated payload', (ws) => ws.send(Buffer.concat([header(0, 100), Buffer.alloc(50)])), 'ProtocolError', 'MPC_ERR_BAD_LENGTH', 1002],
    ['trailing bytes', (ws) => ws.send(Buffer.concat([header(0, 4), Buffer.alloc(5)])), 'ProtocolError', 'MPC_ERR_BAD_LENGTH', 1002],
    ['a declared length over the limit', (ws) => ws.send(header(0, maxFrameBytes + 1)), 'LimitError', 'MPC_ERR_FRAME_TOO_LARGE', 1009],
    ['a declared length of 4 GB', (ws) => ws.send(header(0, 0xffff_ffff)), 'LimitError', 'MPC_ERR_FRAME_TOO_LARGE', 1009],
    ['a message bigger than the limit', (ws) => ws.send(Buffer.concat([header(0, 2000), Buffer.alloc(2000)])), 'LimitError', 'MPC_ERR_FRAME_TOO_LARGE', 1009],
  ];
  for (const [label, send, name, code, closeCode] of cases) {
    it(`rejects ${label}: ${name} ${code}, close ${closeCode}`, async () => {
      const { err, code: got, server } = await serveGarbage(send);
      expect(err).toMatchObject({ name, code });
      expect(err).toBeInstanceOf(name === 'LimitError' ? LimitError : ProtocolError);
      expect(got).toBe(closeCode);
      expect(server.closed).toBe(true);
      await expect(server.recv(0)).rejects.toBe(err); // stays failed
    });
  }

  it('accepts a payload of exactly maxFrameBytes', async () => {
    const ch = nextChannel();
    const { ws, closed } = await rawClient(listener.url);
    const server = await ch;
    ws.send(Buffer.concat([header(9, maxFrameBytes), Buffer.alloc(maxFrameBytes, 7)]));
    const p = await server.recv(9);
    expect(p.byteLength).toBe(maxFrameBytes);
    expect(p[maxFrameBytes - 1]).toBe(7);
    ws.close();
    await closed;
  });

  it('keeps serving other connections after a bad one', async () => {
    await serveGarbage((ws) => ws.send(Buffer.from([0xff])));
    const ch = nextChannel();
    const client = await WsChannel.connect(listener.url, { maxFrameBytes });
    const server = await ch;
    client.send(1, Uint8Array.of(1, 2, 3));
    expect([...(await server.recv(1))]).toEqual([1, 2, 3]);
    server.send(2, Uint8Array.of(4));
    expect([...(await client.recv(2))]).toEqual([4]);
    client.close();
    await client.whenSocketClosed();
  });

  it('rejects a pending receive with ChannelClosedError when the peer drops the TCP connection', async () => {
    const ch = nextChannel();
    const { ws } = await rawClient(listener.url);
    const server = await ch;
    const pending = server.recv(0);
    ws.terminate();
    await expect(pending).rejects.toBeInstanceOf(ChannelClosedError);
  });
});

describe('WsChannel: local limits and lifecycle', () => {
  it('throws LimitError when sending a payload over maxFrameBytes, and sends one at the limit', async () => {
    const [a, b] = await WsChannel.pair({ maxFrameBytes: 64 }, { maxFrameBytes: 64 });
    expect(() => b.send(0, new Uint8Array(65))).toThrow(expect.objectContaining({ code: 'MPC_ERR_FRAME_TOO_LARGE' }));
    b.send(0, new Uint8Array(64));
    expect((await a.recv(0)).byteLength).toBe(64);
    a.close();
    await Promise.all([a.whenSocketClosed(), b.whenSocketClosed()]);
  });

  it('flushes frames still held by link emulation before the socket closes', async () => {
    const [a, b] = await WsChannel.pair({ link: { latencyMs: 20, bandwidthMbps: 1000 } });
    a.send(3, Uint8Array.of(42));
    a.close('done');
    expect([...(await b.recv(3))]).toEqual([42]);
    await expect(b.recv(4)).rejects.toThrow(/closed by peer \(1000: done\)/);
    await b.whenSocketClosed();
  });

  it('fails connect to a port nobody listens on with ChannelClosedError', async () => {
    const l = await listenWs({ host: '127.0.0.1', port: 0 }, () => undefined);
    const url = l.url;
    await l.close();
    await expect(WsChannel.connect(url)).rejects.toBeInstanceOf(ChannelClosedError);
  });

  it('listener.close() closes accepted channels; the client sees ChannelClosedError', async () => {
    const l = await listenWs({ host: '127.0.0.1', port: 0 }, () => undefined);
    const c = await WsChannel.connect(l.url);
    const pending = expect(c.recv(0)).rejects.toThrow(/closed by peer \(1000: server closing\)/);
    await l.close();
    await pending;
    await eventually(() => c.closed, 'client closed');
    await c.whenSocketClosed();
  });
});
