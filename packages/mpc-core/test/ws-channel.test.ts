import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
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

/** A version-2 frame header (frame.ts); a whole message unless `messageBytes`/`continues` say otherwise. */
function header(tag: number, declared: number, messageBytes = declared, continues = false): Buffer {
  const h = Buffer.alloc(16);
  h[0] = 0x4d;
  h[1] = 2;
  h[2] = continues ? 1 : 0;
  h.writeUInt32LE(tag, 4);
  h.writeUInt32LE(declared, 8);
  h.writeUInt32LE(messageBytes, 12);
  return h;
}

/** One fragment of a `messageBytes`-byte message: header and `bytes` payload bytes. */
function fragment(tag: number, bytes: number, messageBytes: number, continues: boolean): Buffer {
  return Buffer.concat([header(tag, bytes, messageBytes, continues), Buffer.alloc(bytes, 5)]);
}

/** Send each frame as its own WebSocket message. */
const frames = (...fs: Buffer[]) => (ws: WebSocket) => fs.forEach((f) => ws.send(f));

describe('WsChannel: malformed input from a raw client', () => {
  const maxFrameBytes = 1024;
  const maxMessageBytes = 8 * 1024;
  let listener: WsListener;
  const next: Array<(c: WsChannel) => void> = [];
  const nextChannel = () => new Promise<WsChannel>((r) => next.push(r));

  beforeAll(async () => {
    listener = await listenWs({ host: '127.0.0.1', port: 0, channel: { maxFrameBytes, maxMessageBytes } }, (c) => {
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
    ['a truncated header', (ws) => ws.send(Buffer.from([0x4d, 2, 0])), 'ProtocolError', 'MPC_ERR_BAD_FRAME', 1002],
    ['a wrong version', (ws) => ws.send(Buffer.concat([Buffer.from([0x4d, 3]), Buffer.alloc(14)])), 'ProtocolError', 'MPC_ERR_BAD_FRAME', 1002],
    ['a version 1 frame', (ws) => ws.send(Buffer.concat([Buffer.from([0x4d, 1]), Buffer.alloc(14)])), 'ProtocolError', 'MPC_ERR_BAD_FRAME', 1002],
    ['unknown flags', (ws) => ws.send(Buffer.concat([Buffer.from([0x4d, 2, 0x80]), Buffer.alloc(13)])), 'ProtocolError', 'MPC_ERR_BAD_FRAME', 1002],
    ['a text message', (ws) => ws.send('hello'), 'ProtocolError', 'MPC_ERR_BAD_FRAME', 1002],
    ['a truncated payload', (ws) => ws.send(Buffer.concat([header(0, 100), Buffer.alloc(50)])), 'ProtocolError', 'MPC_ERR_BAD_LENGTH', 1002],
    ['trailing bytes', (ws) => ws.send(Buffer.concat([header(0, 4), Buffer.alloc(5)])), 'ProtocolError', 'MPC_ERR_BAD_LENGTH', 1002],
    ['a declared length over the limit', (ws) => ws.send(header(0, maxFrameBytes + 1)), 'LimitError', 'MPC_ERR_FRAME_TOO_LARGE', 1009],
    ['a declared length of 4 GB', (ws) => ws.send(header(0, 0xffff_ffff)), 'LimitError', 'MPC_ERR_FRAME_TOO_LARGE', 1009],
    ['a message bigger than the limit', (ws) => ws.send(Buffer.concat([header(0, 2000), Buffer.alloc(2000)])), 'LimitError', 'MPC_ERR_FRAME_TOO_LARGE', 1009],
    // fragment sequences
    ['a declared message length over maxMessageBytes', frames(fragment(0, 1024, maxMessageBytes + 1, false)), 'LimitError', 'MPC_ERR_MESSAGE_TOO_LARGE', 1009],
    ['a declared message length of 4 GB', frames(fragment(0, 16, 0xffff_ffff, false)), 'LimitError', 'MPC_ERR_MESSAGE_TOO_LARGE', 1009],
    ['a fragment of another tag inside a message', frames(fragment(0, 1024, 3000, false), fragment(1, 1024, 3000, true)), 'ProtocolError', 'MPC_ERR_BAD_FRAGMENT', 1002],
    ['a fragment of another message length', frames(fragment(0, 1024, 3000, false), fragment(0, 1024, 4000, true)), 'ProtocolError', 'MPC_ERR_BAD_FRAGMENT', 1002],
    ['a new message before the last one ended', frames(fragment(0, 1024, 3000, false), fragment(0, 4, 4, false)), 'ProtocolError', 'MPC_ERR_BAD_FRAGMENT', 1002],
    ['a continuation with no message begun', frames(fragment(0, 4, 8, true)), 'ProtocolError', 'MPC_ERR_BAD_FRAGMENT', 1002],
    ['an empty continuation frame', frames(fragment(0, 1024, 3000, false), fragment(0, 0, 3000, true)), 'ProtocolError', 'MPC_ERR_BAD_FRAGMENT', 1002],
    ['fragments beyond the declared length', frames(fragment(0, 1024, 2000, false), fragment(0, 1000, 2000, true)), 'ProtocolError', 'MPC_ERR_BAD_LENGTH', 1002],
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

  it('reassembles fragments from a raw peer into one message', async () => {
    const ch = nextChannel();
    const { ws, closed } = await rawClient(listener.url);
    const server = await ch;
    const body = Buffer.from(Array.from({ length: 2500 }, (_, i) => i % 251));
    ws.send(Buffer.concat([header(7, 1024, 2500), body.subarray(0, 1024)]));
    ws.send(Buffer.concat([header(7, 1000, 2500, true), body.subarray(1024, 2024)])); // any split is accepted
    ws.send(Buffer.concat([header(7, 476, 2500, true), body.subarray(2024)]));
    ws.send(fragment(8, 3, 3, false));
    const got = await server.recv(7);
    expect(Buffer.compare(got, body)).toBe(0);
    expect(got.byteOffset).toBe(0);
    expect((await server.recv(8)).byteLength).toBe(3);
    ws.close();
    await closed;
  });

  it('names a message cut off by the close in the ChannelClosedError', async () => {
    const ch = nextChannel();
    const { ws, closed } = await rawClient(listener.url);
    const server = await ch;
    const pending = server.recv(3);
    ws.send(fragment(3, 1024, 3000, false));
    ws.send(fragment(3, 1024, 3000, true));
    ws.close(1000, 'gone');
    await expect(pending).rejects.toThrow(ChannelClosedError);
    await expect(pending).rejects.toThrow(/closed by peer \(1000: gone\); message with tag 3 truncated at 2048 of 3000 bytes/);
    await closed;
  });

  for (const [label, bad] of [
    ['a bad frame', (ws: WebSocket) => ws.send(Buffer.from([0xff]))],
    ['a bad fragment sequence', frames(fragment(0, 1024, 3000, false), fragment(1, 1024, 3000, true))],
  ] as const) {
    it(`keeps serving other connections after ${label}`, async () => {
      await serveGarbage(bad);
      const ch = nextChannel();
      const client = await WsChannel.connect(listener.url, { maxFrameBytes, maxMessageBytes });
      const server = await ch;
      client.send(1, Uint8Array.of(1, 2, 3));
      expect([...(await server.recv(1))]).toEqual([1, 2, 3]);
      const big = Uint8Array.from({ length: 5000 }, (_, i) => i & 0xff); // 5 frames
      server.send(2, big);
      expect(Buffer.compare(await client.recv(2), big)).toBe(0);
      client.close();
      await client.whenSocketClosed();
    });
  }

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
  it('throws LimitError when sending a message over maxMessageBytes, and sends one at the limit in frames', async () => {
    const opts = { maxFrameBytes: 64, maxMessageBytes: 200 };
    const [a, b] = await WsChannel.pair(opts, opts);
    expect(() => b.send(0, new Uint8Array(201))).toThrow(expect.objectContaining({ name: 'LimitError', code: 'MPC_ERR_MESSAGE_TOO_LARGE' }));
    expect(b.closed).toBe(false);
    b.send(0, new Uint8Array(200).fill(3));
    const got = await a.recv(0);
    expect(got.byteLength).toBe(200);
    expect(got.every((x) => x === 3)).toBe(true);
    a.close();
    await Promise.all([a.whenSocketClosed(), b.whenSocketClosed()]);
  });

  it('sendTogether puts every frame it sends on the TCP socket in one write (plain sends: one write each)', async () => {
    const [a, b] = await WsChannel.pair();
    // Node's net.Socket flushes buffered (corked) chunks through _writev and single ones through _write
    const tcp = (b as unknown as { netSocket: { _writev: (...x: unknown[]) => void; _write: (...x: unknown[]) => void } }).netSocket;
    const writes = jest.spyOn(tcp, '_writev'), single = jest.spyOn(tcp, '_write');
    const payloads = Array.from({ length: 8 }, (_, i) => randomBytes(40 + i));
    b.sendTogether(() => payloads.forEach((p, i) => b.send(i, p)));
    expect([writes.mock.calls.length, single.mock.calls.length]).toEqual([1, 0]);
    expect((writes.mock.calls[0][0] as unknown[]).length).toBe(16); // each frame: ws header + our frame
    for (let i = 0; i < 8; i++) expect(Buffer.compare(await a.recv(i), payloads[i])).toBe(0);
    payloads.forEach((p, i) => b.send(8 + i, p));
    expect(writes.mock.calls.length + single.mock.calls.length).toBe(1 + 8);
    for (let i = 0; i < 8; i++) expect(Buffer.compare(await a.recv(8 + i), payloads[i])).toBe(0);
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

  it('closeWithCode: the peer reads the code (1000 or 4000–4999); the end that closed first reads none', async () => {
    const [a, b] = await WsChannel.pair();
    expect(b.peerCloseCode).toBeUndefined();
    a.closeWithCode(4002, 'canceled');
    await expect(b.recv(0)).rejects.toThrow(/closed by peer \(4002: canceled\)/);
    await Promise.all([a.whenSocketClosed(), b.whenSocketClosed()]);
    expect(b.peerCloseCode).toBe(4002);
    expect(a.peerCloseCode).toBeUndefined(); // the echo of its own close is not the peer's code
    const [c, d] = await WsChannel.pair();
    c.close('bye'); // a plain close is a normal one
    await d.whenSocketClosed();
    expect(d.peerCloseCode).toBe(1000);
    const [e, f] = await WsChannel.pair();
    f.terminate('dropped'); // no closing handshake
    await e.whenSocketClosed();
    expect(e.peerCloseCode).toBe(1006);
    for (const bad of [1001, 3999, 5000, 4000.5]) expect(() => e.closeWithCode(bad)).toThrow(/close code expected 1000 or an integer in \[4000, 4999\]/);
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

describe('listenWs: per-connection frame limits', () => {
  it("a route's limit (channel options from a function) refuses a long frame from its WebSocket header alone", async () => {
    const listener = await listenWs({ host: '127.0.0.1', port: 0, channel: () => ({ maxFrameBytes: 1024 }) }, () => undefined);
    try {
      const sock = connect(listener.port, '127.0.0.1');
      sock.on('error', () => undefined);
      const got: Buffer[] = [];
      sock.on('data', (d: Buffer) => got.push(d));
      const closed = new Promise<void>((r) => sock.once('close', () => r()));
      await new Promise<void>((r) => sock.once('connect', () => r()));
      sock.write(
        'GET /client HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
      await eventually(() => Buffer.concat(got).includes('\r\n\r\n'), 'the 101 response');
      expect(Buffer.concat(got).toString('latin1')).toMatch(/^HTTP\/1\.1 101/);
      got.length = 0;
      // a masked binary frame declaring 100 MB; its body never comes
      const h = Buffer.alloc(14);
      h[0] = 0x82;
      h[1] = 0x80 | 127;
      h.writeBigUInt64BE(100_000_000n, 2);
      sock.write(h);
      await closed; // a server that waited for the body would never close it
      const reply = Buffer.concat(got);
      expect(reply[0]).toBe(0x88); // a close frame
      expect(reply.readUInt16BE(2)).toBe(1009); // message too big
    } finally {
      await listener.close();
    }
  });
});
