/**
 * The CLI's TLS flags: `--tls-cert FILE --tls-key FILE` make a server listen on wss:// (PEM files);
 * `--tls-ca FILE` adds CA certificates (PEM) to the system's when a server or a client dials wss://
 * (a deployment's own CA, or the servers' self-signed certificate). Errors name the flag and path.
 */
import { readFileSync } from 'node:fs';
import type { TlsServerOptions } from '@mpcache/mpc-core';

export const TLS_CERT_HELP = "this server's TLS certificate chain (PEM): serve wss:// (with --tls-key)";
export const TLS_KEY_HELP = "this server's TLS private key (PEM), with --tls-cert";
export const TLS_CA_HELP = "CA certificates (PEM) to trust besides the system's when dialing wss://";

/** The listener's certificate and key, or undefined when neither flag is given. */
export function tlsServerFiles(cert: string | undefined, key: string | undefined): TlsServerOptions | undefined {
  if (!cert && !key) return undefined;
  if (!cert || !key) throw new TypeError('--tls-cert and --tls-key go together (MPCACHE_TLS_CERT, MPCACHE_TLS_KEY)');
  return { cert: readPem(cert, '--tls-cert'), key: readPem(key, '--tls-key') };
}

/** The extra CA certificates, or undefined. */
export function tlsCaFile(ca: string | undefined): Buffer | undefined {
  return ca ? readPem(ca, '--tls-ca') : undefined;
}

function readPem(path: string, flag: string): Buffer {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new TypeError(`${flag}: cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (!bytes.includes('-----BEGIN ')) throw new TypeError(`${flag}: ${path} is not a PEM file`);
  return bytes;
}
