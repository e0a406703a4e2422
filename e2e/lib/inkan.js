// Builds inkan from this checkout and runs it as the page's backend.
import { spawn, execFile } from 'node:child_process';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

// buildInkan runs `go build ./cmd/inkan` in the checkout and returns the
// binary's path. INKAN_BIN names a binary to use instead.
export async function buildInkan(dir) {
  if (process.env.INKAN_BIN) return process.env.INKAN_BIN;
  const bin = join(dir, 'inkan');
  await promisify(execFile)('go', ['build', '-o', bin, './cmd/inkan'], { cwd: repoRoot });
  return bin;
}

// startInkan starts `inkan serve` with a fresh SQLite database and the
// configuration the page needs, and resolves once the public API answers
// /health/ready. mode is 'header' (X-Auth-Token, API on 127.0.0.1) or
// 'cookie' (the session cookie, API on localhost). The API URL the page
// uses is returned as api; log holds everything inkan wrote.
export async function startInkan({ bin, mode, pageOrigin, smtp }) {
  const dir = await mkdtemp(join(tmpdir(), `inkan-e2e-${mode}-`));
  const host = mode === 'header' ? '127.0.0.1' : 'localhost';
  const config = {
    server: {
      public: { address: '127.0.0.1:0', cors: { allow_origins: [pageOrigin] } },
      admin: { address: '127.0.0.1:0' },
    },
    database: { dialect: 'sqlite', database: join(dir, 'inkan.db') },
    secrets: { keys: [randomBytes(24).toString('hex')] },
    service: { name: 'inkan e2e' },
    session: {
      enable_auth_token_header: mode === 'header',
      // Plain http://localhost: a Secure cookie is not what this setup
      // should depend on.
      cookie: { secure: false },
    },
    email_delivery: {
      from_address: 'login@example.com',
      from_name: 'inkan e2e',
      smtp: { host: smtp.host, port: String(smtp.port), timeout: '5s' },
    },
    webauthn: { relying_party: { id: 'localhost', display_name: 'inkan e2e', origins: [pageOrigin] } },
    log: { level: 'info', format: 'json' },
  };
  const file = join(dir, 'inkan.yaml');
  // JSON is YAML.
  await writeFile(file, JSON.stringify(config, null, 2));

  // Only the file configures it: inkan reads configuration keys from the
  // environment too, so the caller's environment is not passed on.
  const env = { PATH: process.env.PATH, HOME: process.env.HOME || dir, TMPDIR: tmpdir() };
  const child = spawn(bin, ['serve', '--config', file], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = [];
  let publicAddr;
  let onAddr;
  const addrSeen = new Promise((resolve) => { onAddr = resolve; });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const consume = (stream) => {
    let buf = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => {
      buf += chunk;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        log.push(line);
        try {
          const rec = JSON.parse(line);
          if (rec.msg === 'public API listening') { publicAddr = rec.addr; onAddr(); }
        } catch { /* not JSON: kept in the log as it is */ }
      }
    });
  };
  consume(child.stdout);
  consume(child.stderr);

  let timer;
  const early = await Promise.race([
    addrSeen.then(() => null),
    exited.then((e) => e),
    new Promise((resolve) => { timer = setTimeout(() => resolve({ timeout: '30 s' }), 30000); }),
  ]);
  clearTimeout(timer);
  if (early) {
    child.kill('SIGKILL');
    throw new Error(`inkan did not start (${JSON.stringify(early)}):\n${log.join('\n')}`);
  }
  const port = Number(publicAddr.split(':').pop());
  const api = `http://${host}:${port}`;
  for (let i = 0; ; i++) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/health/ready`);
      if (r.ok) break;
    } catch { /* not yet */ }
    if (i >= 100) throw new Error(`inkan at ${api} never became ready:\n${log.join('\n')}`);
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    api,
    log,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 10000);
        await exited;
        clearTimeout(t);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
