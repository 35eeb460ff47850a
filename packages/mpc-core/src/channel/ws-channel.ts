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
 * The server side is ws-listen.ts (`listenWs`).
 *
 * TLS: `listenWs({ tls: { cert, key } })` serves wss:// (node:https); `connect(url, { ca })` trusts
 * extra CA certificates (PEM) besides the system's, for a deployment's own CA or a self-signed cert.
 *
 * Lifecycle: close() fails local receives at once; with link emulation the socket itself closes
 * after the already-sent (delayed) frames have been written, so a final message is not lost.
 */
import WebSocket from 'ws';
import { LimitError, ProtocolError } from '../errors';
import { HANDSHAKE_TIMEOUT_MS, MAX_FRAME_BYTES } from '../limits';
import type { ChannelOptions } from './channel';
import { encodeFrame, FRAME_HEADER_BYTES, parseFrame } from './frame';
import { closedError, Mailbox } from './mailbox';
import { MailboxChannel } from './mailbox-channel';
import { MessageAssembler } from './message-assembler';
import { Outbox } from './outbox';
import { listenWs } from './ws-listen';

/** ChannelOptions; `maxFrameBytes` also caps the WebSocket messages ws accepts. */
export type WsChannelOptions = ChannelOptions;

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

/** What WsChannel uses of ws's underlying net.Socket. */
interface NetSocket {
  setNoDelay(on: boolean): void;
  cork(): void;
  uncork(): void;
}

export class WsChannel extends MailboxChannel {
  protected readonly mailbox: Mailbox;
  protected readonly outbox: Outbox<Uint8Array>;
  private readonly assembler: MessageAssembler;
  private readonly maxFrameBytes: number;
  private readonly socketClosed: Promise<void>;
  /** The code of this end's own close (1000 unless closeWithCode named another). */
  private localCloseCode = 1000;
  private peerCode: number | undefined;
  /** ws's TCP socket (undefined if the socket was not open). */
  private readonly netSocket: NetSocket | undefined;

  /** Wrap an OPEN socket (from `connect`, `listenWs`, or a party server's own upgrade handler). */
  constructor(
    private readonly socket: WebSocket,
    opts: WsChannelOptions = {},
  ) {
    super();
    this.mailbox = new Mailbox(opts.ledger, opts.recvTimeoutMs);
    this.maxFrameBytes = opts.maxFrameBytes ?? MAX_FRAME_BYTES;
    this.assembler = new MessageAssembler(opts.maxRecvMessageBytes ?? opts.maxMessageBytes);
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
      this.fail(closedError(`socket not open (readyState ${socket.readyState})`));
      return;
    }
    this.netSocket = (socket as unknown as { _socket?: NetSocket })._socket;
    this.netSocket?.setNoDelay(true);
  }

  /**
   * The frames `fn` sends leave in one write: ws corks the TCP socket around each frame's header and
   * payload; corked around all of them, Node flushes them as one writev when `fn` returns.
   */
  override sendTogether<T>(fn: () => T): T {
    const s = this.netSocket;
    if (!s) return fn();
    s.cork();
    try {
      return fn();
    } finally {
      s.uncork();
    }
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

  /** Resolves once the underlying socket is fully closed (for clean shutdown in servers and tests). */
  whenSocketClosed(): Promise<void> {
    return this.socketClosed;
  }

  protected closeTransport(reason: string | undefined): void {
    const code = this.localCloseCode;
    this.outbox.whenDrained(() => this.closeSocket(code, reason ?? ''));
  }

  /**
   * close(reason) with a WebSocket close code the peer can read as `peerCloseCode`: 1000 (normal) or
   * an application code in 4000–4999 (RFC 6455's private range; the servers name a session's outcome
   * with them, party-server/src/session-close-codes.ts).
   */
  closeWithCode(code: number, reason?: string): void {
    if (!(code === 1000 || (Number.isInteger(code) && code >= 4000 && code <= 4999))) {
      throw new RangeError(`close code expected 1000 or an integer in [4000, 4999], got ${code}`);
    }
    if (this.closed) return;
    this.localCloseCode = code;
    this.close(reason);
  }

  /** The close code of the peer's closing handshake (1006 when the link dropped without one); undefined before, or when this end closed first. */
  get peerCloseCode(): number | undefined {
    return this.peerCode;
  }

  /** Drop the connection without a closing handshake (server shutdown, unresponsive peer). */
  terminate(reason = 'terminated'): void {
    this.fail(closedError(reason));
    this.socket.terminate();
  }

  // ---------------------------------------------------------------- socket events

  private write(frame: Uint8Array): void {
    // A peer that already went away is reported by the 'close' event; nothing to write then.
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(frame, { binary: true });
  }

  private onMessage(data: WebSocket.RawData, isBinary: boolean): void {
    if (this.closed) return;
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
    if (!this.closed) this.peerCode = code; // the peer closed first (not the echo of our own close)
    const cut = this.assembler.describePartial();
    this.fail(closedError(`closed by peer (${reason ? `${code}: ${reason}` : code})${cut ? `; ${cut}` : ''}`));
  }

  private onError(err: Error): void {
    const code = errorCode(err);
    if (code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
      this.failWith(new LimitError(`incoming message exceeds maxFrameBytes ${this.maxFrameBytes}`, 'MPC_ERR_FRAME_TOO_LARGE'));
    } else if (code.startsWith('WS_ERR_')) {
      this.failWith(new ProtocolError(`malformed WebSocket frame (${code})`, 'MPC_ERR_BAD_FRAME'));
    } else {
      this.fail(closedError(`socket error (${code})`));
    }
  }

  /** The peer violated the framing: fail every receive with `e` and close with 1002/1009. */
  private failWith(e: Error): void {
    this.fail(e);
    const code = e instanceof LimitError ? 1009 : 1002;
    this.closeSocket(code, (e as { code?: string }).code ?? e.name);
  }

  private closeSocket(code: number, reason: string): void {
    const s = this.socket;
    if (s.readyState === WebSocket.OPEN) s.close(code, Buffer.from(reason).subarray(0, 123).toString());
  }
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
