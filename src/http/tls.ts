/**
 * The HTTPS listener's certificate: read from `server.tls` files at start-up and again on
 * SIGHUP. Every file is checked before it is used, so a reload with a broken or mismatched
 * file keeps the certificate in service and the error names the file at fault.
 */
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { createSecureContext, type SecureContextOptions, type TLSSocket } from 'node:tls';
import { ConfigError } from '../config/load.ts';
import type { Config } from '../config/schema.ts';

export type TlsConfig = NonNullable<Config['server']['tls']>;

/**
 * A certificate, key or CA file that cannot be used: `file` is the path as configured. A
 * configuration error at start-up (exit 2); on SIGHUP, logged while the old certificate stays.
 */
export class TlsFileError extends ConfigError {
  readonly file: string;
  constructor(file: string, reason: string) {
    super(`${file}: ${reason}`);
    this.name = 'TlsFileError';
    this.file = file;
  }
}

/** What the listener is given, and what a log line says about it. */
export interface LoadedTls {
  readonly options: SecureContextOptions;
  /** The leaf certificate's serial number (hex) and expiry, for the log. */
  readonly serial: string;
  readonly validTo: string;
}

/**
 * Reads and checks the files of `tls`: the certificate file (the leaf first, then any
 * intermediates) and the key must parse and belong together, the CA file must hold
 * certificates. Throws `TlsFileError` naming the first file that fails.
 */
export function loadTls(tls: TlsConfig): LoadedTls {
  const cert = read(tls.certFile);
  const key = read(tls.keyFile);
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch (err) {
    throw new TlsFileError(tls.certFile, `not a PEM certificate (${(err as Error).message})`);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    throw new TlsFileError(tls.keyFile, `not a PEM private key (${(err as Error).message})`);
  }
  if (!leaf.checkPrivateKey(privateKey)) throw new TlsFileError(tls.keyFile, `is not the key of the certificate in ${tls.certFile}`);
  const options: SecureContextOptions = { cert, key };
  if (tls.caFile !== undefined) {
    const ca = read(tls.caFile);
    try {
      new X509Certificate(ca);
    } catch (err) {
      throw new TlsFileError(tls.caFile, `not a PEM certificate (${(err as Error).message})`);
    }
    options.ca = ca;
  }
  try {
    // What the listener itself will build: catches what the checks above do not (an unusable intermediate).
    createSecureContext(options);
  } catch (err) {
    throw new TlsFileError(tls.certFile, (err as Error).message);
  }
  return { options, serial: leaf.serialNumber, validTo: leaf.validTo };
}

function read(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new TlsFileError(file, `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

/** The request arrived over TLS (this server's HTTPS listener). */
export function isEncrypted(req: IncomingMessage): boolean {
  return (req.socket as Partial<TLSSocket>).encrypted === true;
}

/** `https://host` or `http://host` as the request reached this listener; undefined without a Host header. */
export function requestOrigin(req: IncomingMessage): string | undefined {
  const host = req.headers.host;
  return host ? `${isEncrypted(req) ? 'https' : 'http'}://${host}` : undefined;
}
