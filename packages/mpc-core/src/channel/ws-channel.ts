/**
 * WebSocket Channel (deployment transport). One WebSocket binary message carries exactly one frame
 * (frame.ts): a 16-byte header and the raw payload; a message longer than maxFrameBytes is several
 * frames, reassembled before delivery. `perMessageDeflate: false` (share bytes are incompressible)
 * and `setNoDelay(true)` (one message per round must leave at once, no Nagle).
 *
 * Ledger, link emulation and receive semantics are those of MemoryChannel (the shared Outbox,
 * MessageAssembler and Mailbox): a message's payload bytes are counted once on send (headers
 * excluded), the Mailbox counts received payloads, checks tags and fails every pending and later
 * recv when the link dies. Failure mapping:
 *
 *   peer closes / socket error ............ ChannelClosedError (reason and close code in the message;
 *                                           names a message cut off by the close)
 *   text message, bad magic/version/flags . ProtocolError MPC_ERR_BAD_FRAME    → close 1002
 *   header length ≠ carried bytes ......... ProtocolError MPC_ERR_BAD_LENGTH   → close 1002
 *   bad fragment sequence ................. ProtocolError MPC_ERR_BAD_FRAGMENT / BAD_LENGTH → 1002
 *   declared/actual length > maxFrameBytes  LimitError MPC_ERR_FRAME_TOO_LARGE → close 1009
 *   message length > maxMessageBytes ...... LimitError MPC_ERR_MESSAGE_TOO_LARGE → close 1009
 *
 * Multiplexing: none. Open one WebSocket per (session, link) — P0↔P1, P_b↔dealer — and route by
 * URL path on the server (`listenWs` hands over the upgrade request). Tags are u32.
 *
 * Plain HTTP on the same port: `GET /healthz` answers `status()` as JSON (200, or 503 when its
 * `ok` is false) and `GET /metrics` answers `metrics()` (Prometheus text) if the listener has them;
 * every other request gets 426 Upgrade Required.
 *
 * TLS: `listenWs({ tls: { cert, key } })` serves wss:// (node:https); `connect(url, { ca })` trusts
 * extra CA certificates (PEM) besides the system's, for a deployment's own CA or a self-signed cert.
 *
 * Lifecycle: close() fails local receives at once; with link emulation the socket itself closes
 * after the already-sent (delayed) frames have been written, so a final message is not lost.
 */
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import WebSocket from 'ws';
import { LimitError, ProtocolError } from '../errors';
import { HANDSHAKE_TIMEOUT_MS, MAX_FRAME_BYTES } from '../limits';
import type { Channel, ChannelOptions } from './channel';
import { encodeFrame, FRAME_HEADER_BYTES, parseFrame } from './frame';
import { closedError, Mailbox } from './mailbox';
import { MessageAssembler } from './message-assembler';
import { Outbox } from './outbox';

/** ChannelOptions; `maxFrameBytes` also caps the WebSocket messages ws accepts. */
export type WsChannelOptions = ChannelOptions;

/** A wss:// listener's PEM certificate chain and private key. */
export interface TlsServerOptions {
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
}

/** What `WsChannel.connect` takes besides the channel options. */
export interface WsConnectOptions extends WsChannelOptions {
  handshakeTimeoutMs?: number;
  /** wss://: CA certificates (PEM) to trust besides the system's. */
  ca?: string | Buffer;
}

/** ws options both ends use: no compression, message size capped by the frame limit. */
export function wsSocketOptions(maxFrameBytes = MAX_FRAME_BYTES): { perMessageDeflate: false; maxPayload: number } {
  return { perMessageDeflate: false, maxPayload: maxFrameBytes + FRAME_HEADER_BYTES };
}

export class WsChannel implements Channel {
  private readonly mailbox: Mailbox;
  private readonly outbox: Outbox<Uint8Array>;
  private readonly assembler: MessageAssembler;
  private readonly maxFrameBytes: number;
  private readonly socketClosed: Promise<void>;
  private isClosed = false;

  /** Wrap an OPEN socket (from `connect`, `listenWs`, or a party server's own upgrade handler). */
  constructor(
    private readonly socket: WebSocket,
    opts: WsChannelOptions = {},
  ) {
    this.mailbox = new Mailbox(opts.ledger, opts.recvTimeoutMs);
    this.maxFrameBytes = opts.maxFrameBytes ?? MAX_FRAME_BYTES;
    this.assembler = new MessageAssembler(opts.maxMessageBytes);
    this.outbox = new Outbox<Uint8Array>(
      opts,
      (tag, chunk, part) => encodeFrame(tag, chunk, this.maxFrameBytes, part),
      (frame) => this.write(frame),
    );
    this.socketClosed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    socket.on('close', (code, reason) => this.onClose(code, reason.toString()));
    socket.on('error', (err) => this.onError(err));
    if (socket.readyState !== WebSocket.OPEN) {
      this.isClosed = true;
      this.mailbox.fail(closedError(`socket not open (readyState ${socket.readyState})`));
      return;
    }
    (socket as unknown as { _socket?: { setNoDelay(on: boolean): void } })._socket?.setNoDelay(true);
  }

  /** Connect to a `listenWs` server (or any endpoint speaking this framing). */
  static connect(url: string, opts: WsConnectOptions = {}): Promise<WsChannel> {
    const socket = new WebSocket(url, {
      ...wsSocketOptions(opts.maxFrameBytes),
      ...(opts.ca ? { ca: opts.ca } : {}),
      handshakeTimeout: opts.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS,
      // RFC 6455 client masking defends browser-facing proxies against cache poisoning; on these
      // server-to-server links it only costs a pass over every payload (≈2× the loopback time of a
      // 1 MB exchange, measured 2026-11-26, Node 20.20). A zero mask makes ws skip that pass.
      generateMask: (mask: Buffer) => void mask.fill(0),
    });
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => {
        socket.off('open', onOpen);
        socket.terminate();
        reject(closedError(`connect failed (${errorCode(err)})`));
      };
      const onOpen = () => {
        socket.off('error', onError);
        resolve(new WsChannel(socket, opts));
      };
      socket.once('error', onError);
      socket.once('open', onOpen);
    });
  }

  /** Two connected endpoints over loopback (tests, single-machine runs). */
  static async pair(a: WsChannelOptions = {}, b: WsChannelOptions = {}): Promise<[WsChannel, WsChannel]> {
    let accepted!: (c: WsChannel) => void;
    const server = new Promise<WsChannel>((resolve) => (accepted = resolve));
    const listener = await listenWs({ host: '127.0.0.1', port: 0, channel: a }, (c) => accepted(c));
    try {
      const client = await WsChannel.connect(listener.url, b);
      return [await server, client];
    } finally {
      listener.stopAccepting();
    }
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Resolves once the underlying socket is fully closed (for clean shutdown in servers and tests). */
  whenSocketClosed(): Promise<void> {
    return this.socketClosed;
  }

  send(tag: number, payload: Uint8Array): void {
    if (this.isClosed) throw closedError('send after close');
    this.outbox.send(tag, payload);
  }

  recv(tag: number): Promise<Uint8Array> {
    return this.mailbox.recv(tag);
  }

  close(reason?: string): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.mailbox.fail(closedError(reason ?? 'closed locally'));
    this.outbox.whenDrained(() => this.closeSocket(1000, reason ?? ''));
  }

  /** Drop the connection without a closing handshake (server shutdown, unresponsive peer). */
  terminate(reason = 'terminated'): void {
    this.isClosed = true;
    this.mailbox.fail(closedError(reason));
    this.socket.terminate();
  }

  // ---------------------------------------------------------------- socket events

  private write(frame: Uint8Array): void {
    // A peer that already went away is reported by the 'close' event; nothing to write then.
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(frame, { binary: true });
  }

  private onMessage(data: WebSocket.RawData, isBinary: boolean): void {
    if (this.isClosed) return;
    try {
      if (!isBinary) throw new ProtocolError('expected a binary frame, got a text message', 'MPC_ERR_BAD_FRAME');
      const bytes = toBytes(data);
      const { header, body } = parseFrame(bytes, this.maxFrameBytes);
      const m = this.assembler.push(header, body, ownsItsBuffer(bytes));
      if (m) this.mailbox.deliver(m.tag, m.payload);
    } catch (e) {
      this.failWith(e as Error);
    }
  }

  private onClose(code: number, reason: string): void {
    this.isClosed = true;
    const cut = this.assembler.describePartial();
    const why = `closed by peer (${reason ? `${code}: ${reason}` : code})${cut ? `; ${cut}` : ''}`;
    this.mailbox.fail(closedError(why));
  }

  private onError(err: Error): void {
    const code = errorCode(err);
    if (code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
      this.failWith(new LimitError(`incoming message exceeds maxFrameBytes ${this.maxFrameBytes}`, 'MPC_ERR_FRAME_TOO_LARGE'));
    } else if (code.startsWith('WS_ERR_')) {
      this.failWith(new ProtocolError(`malformed WebSocket frame (${code})`, 'MPC_ERR_BAD_FRAME'));
    } else {
      this.isClosed = true;
      this.mailbox.fail(closedError(`socket error (${code})`));
    }
  }

  /** The peer violated the framing: fail every receive with `e` and close with 1002/1009. */
  private failWith(e: Error): void {
    this.isClosed = true;
    this.mailbox.fail(e);
    const code = e instanceof LimitError ? 1009 : 1002;
    this.closeSocket(code, (e as { code?: string }).code ?? e.name);
  }

  private closeSocket(code: number, reason: string): void {
    const s = this.socket;
    if (s.readyState === WebSocket.OPEN) s.close(code, Buffer.from(reason).subarray(0, 123).toString());
  }
}

// ------------------------------------------------------------------ server

export interface ListenWsOptions {
  port?: number;
  host?: string;
  /** Channel options for each accepted connection (a function sees the upgrade request). */
  channel?: WsChannelOptions | ((req: IncomingMessage) => WsChannelOptions);
  /** Serve wss:// with this certificate and key (default: plain ws://). */
  tls?: TlsServerOptions;
  /** What `GET /healthz` answers (public facts only: role, counts, public key); 503 if `ok` is false. */
  status?: () => { readonly ok: boolean } & Record<string, unknown>;
  /** What `GET /metrics` answers: Prometheus text exposition (public counts only). */
  metrics?: () => string;
}

/** A plain HTTP request on a listener's port: the health or metrics route, or 426. */
function answerHttp(opts: ListenWsOptions, req: IncomingMessage, res: ServerResponse): void {
  const route = req.method === 'GET' ? (req.url ?? '').split('?')[0] : '';
  if (opts.metrics && route === '/metrics') {
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4', 'cache-control': 'no-store' });
    res.end(opts.metrics());
    return;
  }
  const status = opts.status;
  if (status && route === '/healthz') {
    const body = JSON.stringify(status());
    res.writeHead(JSON.parse(body).ok ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(body);
    return;
  }
  res.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' });
  res.end('Upgrade Required: this port speaks WebSocket (GET /healthz for status)\n');
}

export interface WsListener {
  readonly port: number;
  /** ws://host:port, or wss://host:port with TLS */
  readonly url: string;
  /** Stop accepting; open channels stay up. */
  stopAccepting(): void;
  /** Stop accepting and close every channel it accepted (terminating those that do not close in 1 s). */
  close(): Promise<void>;
}

/** Accept WebSocket connections, each wrapped in a WsChannel and handed to `onChannel`. */
export async function listenWs(
  opts: ListenWsOptions,
  onChannel: (channel: WsChannel, req: IncomingMessage) => void,
): Promise<WsListener> {
  const perConn = opts.channel ?? {};
  const maxFrameBytes = typeof perConn === 'function' ? undefined : perConn.maxFrameBytes;
  const onRequest = (req: IncomingMessage, res: ServerResponse) => answerHttp(opts, req, res);
  const server = opts.tls ? createHttpsServer({ cert: opts.tls.cert, key: opts.tls.key }, onRequest) : createHttpServer(onRequest);
  const wss = new WebSocket.Server({ server, ...wsSocketOptions(maxFrameBytes) });
  const open = new Set<WsChannel>();
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host);
  });
  server.on('error', () => undefined);
  server.on('tlsClientError', () => undefined); // a client that fails the TLS handshake: its socket is gone, nothing else
  wss.on('error', () => undefined); // after listen, errors surface on each socket
  wss.on('connection', (socket, req) => {
    const ch = new WsChannel(socket, typeof perConn === 'function' ? perConn(req) : perConn);
    open.add(ch);
    void ch.whenSocketClosed().then(() => open.delete(ch));
    try {
      onChannel(ch, req);
    } catch (e) {
      ch.close(`rejected: ${(e as Error).name}`);
    }
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : (opts.port ?? 0);
  const host = opts.host ?? '127.0.0.1';
  let stopped: Promise<void> | undefined;
  const stopAccepting = () => (stopped ??= new Promise<void>((resolve) => wss.close(() => server.close(() => resolve()))));
  return {
    port,
    url: `${opts.tls ? 'wss' : 'ws'}://${host.includes(':') ? `[${host}]` : host}:${port}`,
    stopAccepting: () => void stopAccepting(),
    async close() {
      const done = stopAccepting();
      const chans = [...open];
      for (const c of chans) c.close('server closing');
      const all = Promise.all(chans.map((c) => c.whenSocketClosed()));
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), 1000)));
      if ((await Promise.race([all, late])) === 'late') for (const c of chans) c.terminate('server closing');
      clearTimeout(timer);
      await done;
    },
  };
}

/**
 * True if `bytes` is the whole of a buffer nobody else uses: ws hands over a fresh allocation for a
 * message it assembled from several socket reads (every large one). The payload may then stay a
 * view (no copy; a 16-byte header keeps it word-aligned). Anything else — a view into a socket read
 * or a pooled small buffer — is copied by the assembler.
 */
function ownsItsBuffer(bytes: Uint8Array): boolean {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.byteLength > 4096;
}

/** A plain Uint8Array view (not a Buffer: downstream `slice` must copy, as Uint8Array's does). */
function toBytes(data: WebSocket.RawData): Uint8Array {
  const b = Array.isArray(data) ? Buffer.concat(data) : data;
  if (b instanceof ArrayBuffer) return new Uint8Array(b);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function errorCode(err: Error): string {
  return (err as { code?: string }).code ?? err.name;
}
