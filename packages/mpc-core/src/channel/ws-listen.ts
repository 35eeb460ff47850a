/**
 * listenWs — the server side of WsChannel: accept WebSocket connections (ws://, or wss:// with a
 * certificate), each wrapped in a WsChannel with per-connection options and handed over with its
 * upgrade request (servers route by URL path).
 *
 * Plain HTTP on the same port: `GET /healthz` answers `status()` as JSON (200, or 503 when its `ok`
 * is false) and `GET /metrics` answers `metrics()` (Prometheus text) if the listener has them; every
 * other request gets 426 Upgrade Required.
 *
 * close(): stop accepting, close every accepted channel, terminate those not closed within 1 s.
 */
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import WebSocket from 'ws';
import { WsChannel, wsSocketOptions, type WsChannelOptions } from './ws-channel';

/** A wss:// listener's PEM certificate chain and private key. */
export interface TlsServerOptions {
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
}

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
  if (opts.status && route === '/healthz') {
    const status = opts.status();
    res.writeHead(status.ok ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(status));
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
  const onRequest = (req: IncomingMessage, res: ServerResponse) => answerHttp(opts, req, res);
  const server = opts.tls ? createHttpsServer({ cert: opts.tls.cert, key: opts.tls.key }, onRequest) : createHttpServer(onRequest);
  // One upgrade handler per frame limit, so each route's limit is ws's own maxPayload: an
  // over-long frame is refused from its header, not after it was buffered.
  const upgraders = new Map<number | undefined, WebSocket.Server>();
  const upgraderFor = (maxFrameBytes: number | undefined): WebSocket.Server => {
    let wss = upgraders.get(maxFrameBytes);
    if (!wss) {
      wss = new WebSocket.Server({ noServer: true, ...wsSocketOptions(maxFrameBytes) });
      wss.on('error', () => undefined); // errors surface on each socket
      upgraders.set(maxFrameBytes, wss);
    }
    return wss;
  };
  const open = new Set<WsChannel>();
  let accepting = true;
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host);
  });
  server.on('error', () => undefined);
  server.on('tlsClientError', () => undefined); // a client that fails the TLS handshake: its socket is gone, nothing else
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => undefined);
    if (!accepting) return void socket.destroy();
    let chOpts: WsChannelOptions;
    try {
      chOpts = typeof perConn === 'function' ? perConn(req) : perConn;
    } catch {
      return void socket.destroy();
    }
    upgraderFor(chOpts.maxFrameBytes).handleUpgrade(req, socket, head, (ws) => {
      const ch = new WsChannel(ws, chOpts);
      open.add(ch);
      void ch.whenSocketClosed().then(() => open.delete(ch));
      try {
        onChannel(ch, req);
      } catch (e) {
        ch.close(`rejected: ${(e as Error).name}`);
      }
    });
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : (opts.port ?? 0);
  const host = opts.host ?? '127.0.0.1';
  let stopped: Promise<void> | undefined;
  const stopAccepting = () => {
    accepting = false;
    for (const wss of upgraders.values()) wss.close();
    return (stopped ??= new Promise<void>((resolve) => server.close(() => resolve())));
  };
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
