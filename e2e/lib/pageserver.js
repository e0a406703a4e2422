// Serves the test page on http://localhost:8888 with Hanko's published
// client packages from node_modules (no CDN): only the files listed here.
import http from 'node:http';
import { readFile } from 'node:fs/promises';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const e2e = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export const PAGE_PORT = 8888;
export const PAGE_ORIGIN = `http://localhost:${PAGE_PORT}`;

const files = {
  '/': ['page/index.html', 'text/html; charset=utf-8'],
  '/app.js': ['page/app.js', 'text/javascript; charset=utf-8'],
  '/vendor/hanko-elements/elements.js': ['node_modules/@teamhanko/hanko-elements/dist/elements.js', 'text/javascript; charset=utf-8'],
  '/vendor/hanko-frontend-sdk/sdk.modern.js': ['node_modules/@teamhanko/hanko-frontend-sdk/dist/sdk.modern.js', 'text/javascript; charset=utf-8'],
};

export async function startPageServer() {
  const handler = async (req, res) => {
    const path = new URL(req.url, PAGE_ORIGIN).pathname;
    const f = files[path];
    if (!f || req.method !== 'GET') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
      return;
    }
    try {
      const body = await readFile(join(e2e, f[0]));
      res.writeHead(200, { 'Content-Type': f[1], 'Cache-Control': 'no-store' }).end(body);
    } catch (err) {
      res.writeHead(500, { 'Content-Type': 'text/plain' }).end(String(err));
    }
  };
  // localhost may resolve to ::1 or 127.0.0.1: answer on both loopbacks.
  const servers = [];
  for (const host of ['127.0.0.1', '::1']) {
    const s = http.createServer(handler);
    try {
      await new Promise((resolve, reject) => {
        s.once('error', reject);
        s.listen(PAGE_PORT, host, resolve);
      });
      servers.push(s);
    } catch (err) {
      if (host === '127.0.0.1') throw new Error(`cannot serve the page on ${host}:${PAGE_PORT}: ${err.message}`);
      // no IPv6 loopback here: 127.0.0.1 is enough
    }
  }
  return {
    origin: PAGE_ORIGIN,
    close: () => Promise.all(servers.map((s) => new Promise((r) => { s.closeAllConnections(); s.close(r); }))),
  };
}
