/**
 * The soak bench's own HTTP/1.1 client (bench/lean-http-client.ts) against node's HTTP server:
 * what it reads of an answer, where it finds the end of each body, and when it opens a new
 * connection. A client that misread a body's end would pair the next answer with the wrong
 * request and the soak's figures with it.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeanConnection, LeanHttpError } from '../../bench/lean-http-client.ts';

let server: Server;
let port: number;
let connections = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = req.url ?? '';
    res.setHeader('X-Request-Id', `id-${url}`);
    if (url === '/doc') {
      res.writeHead(200, { ETag: '"e1"', 'Content-Type': 'application/xml', 'Content-Length': 9 });
      res.end('<a>xy</a>');
    } else if (url === '/poll') {
      res.writeHead(304, { ETag: '"e1"' });
      res.end();
    } else if (url === '/login') {
      res.writeHead(401, { 'WWW-Authenticate': ['Digest realm="a", nonce="n1", algorithm=MD5', 'Digest realm="a", nonce="n1", algorithm=SHA-256'], 'Content-Length': 0 });
      res.end();
    } else if (url === '/chunked') {
      // No Content-Length: node sends it chunked, here in pieces that arrive apart.
      res.writeHead(200, { ETag: '"c1"' });
      res.write('x'.repeat(5000));
      setTimeout(() => res.end('y'.repeat(70_000)), 20);
    } else if (url === '/close') {
      res.writeHead(200, { Connection: 'close', 'Content-Length': 2 });
      res.end('ok');
    } else if (url === '/cut') {
      res.writeHead(200, { 'Content-Length': 100 });
      res.write('only part');
      setTimeout(() => res.destroy(), 10);
    } else if (url === '/put') {
      // The body's bytes as received: the client's Content-Length must count bytes, not characters.
      let bytes = 0;
      req.on('data', (c: Buffer) => (bytes += c.length));
      req.on('end', () => {
        res.writeHead(201, { ETag: `"${bytes}"`, 'Content-Length': 0 });
        res.end();
      });
    }
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('LeanConnection', () => {
  it('reads status, ETag, every WWW-Authenticate and X-Request-Id, and keeps one connection across bodies of every kind', async () => {
    const before = connections;
    const c = new LeanConnection(port);
    expect(await c.request('GET', '/doc', {})).toEqual({ status: 200, etag: '"e1"', wwwAuthenticate: undefined, requestId: 'id-/doc' });
    expect(await c.request('GET', '/poll', { 'If-None-Match': '"e1"' })).toMatchObject({ status: 304, etag: '"e1"' });
    expect((await c.request('GET', '/login', {})).wwwAuthenticate).toBe('Digest realm="a", nonce="n1", algorithm=MD5, Digest realm="a", nonce="n1", algorithm=SHA-256');
    expect(await c.request('GET', '/chunked', {})).toMatchObject({ status: 200, etag: '"c1"', requestId: 'id-/chunked' });
    expect(await c.request('PUT', '/put', { 'Content-Type': 'text/plain' }, 'é'.repeat(10))).toMatchObject({ status: 201, etag: '"20"' });
    expect(await c.request('GET', '/doc', {})).toMatchObject({ status: 200, requestId: 'id-/doc' });
    expect(connections - before).toBe(1);
    c.close();
  });

  it('opens a new connection after an answer that says Connection: close', async () => {
    const before = connections;
    const c = new LeanConnection(port);
    expect((await c.request('GET', '/close', {})).status).toBe(200);
    expect((await c.request('GET', '/doc', {})).status).toBe(200);
    expect(connections - before).toBe(2);
    c.close();
  });

  it('rejects an answer cut short, and a second request while one is in flight; the connection serves the next', async () => {
    const c = new LeanConnection(port);
    await expect(c.request('GET', '/cut', {})).rejects.toBeInstanceOf(LeanHttpError);
    const first = c.request('GET', '/doc', {});
    await expect(c.request('GET', '/doc', {})).rejects.toThrow(/already in flight/);
    expect((await first).status).toBe(200);
    c.close();
  });
});
