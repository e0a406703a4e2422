// Debian's Chromium driven by playwright-core, with a CDP virtual
// authenticator and a recorder of every API call, console error and
// failed request.
import { chromium } from 'playwright-core';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

// launchBrowser starts headless Chromium with a fresh profile. The
// background-networking flags keep it from dialling Google's hosts, which a
// closed network refuses.
export async function launchBrowser() {
  const profile = await mkdtemp(join(tmpdir(), 'inkan-e2e-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
    viewport: { width: 900, height: 1000 },
    locale: 'en-US',
  });
  return {
    context,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

// addVirtualAuthenticator gives the page a platform authenticator (internal
// transport) with resident keys and user verification that always succeeds,
// through the DevTools protocol (WebAuthn.addVirtualAuthenticator).
export async function addVirtualAuthenticator(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return {
    async credentials() {
      const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
      return credentials;
    },
  };
}

// Recorder keeps every call the page makes to the API (method, path,
// status), and every console error, page error and failed request. The
// "Failed to load resource: … status of N" console lines are not kept as
// errors: the status is checked on the recorded call itself.
export class Recorder {
  constructor(page, api) {
    this.calls = [];
    this.problems = [];
    const apiOrigin = new URL(api).origin;
    page.on('response', (res) => {
      const req = res.request();
      const u = new URL(req.url());
      if (u.origin !== apiOrigin) return;
      if (req.method() === 'OPTIONS') return; // preflights fail as CORS errors below
      this.calls.push({
        method: req.method(), path: u.pathname, status: res.status(),
        bearer: /^Bearer \S+$/.test(req.headers().authorization || ''),
      });
    });
    page.on('requestfailed', (req) => {
      this.problems.push(`request failed: ${req.method()} ${req.url()}: ${req.failure()?.errorText}`);
    });
    page.on('console', (msg) => {
      if (msg.type() !== 'error') return;
      const text = msg.text();
      if (/^Failed to load resource: the server responded with a status of \d+/.test(text)) return;
      this.problems.push(`console error: ${text}${msg.location()?.url ? ` (${msg.location().url})` : ''}`);
    });
    page.on('pageerror', (err) => {
      this.problems.push(`page error: ${err.message}`);
    });
  }

  mark() { return this.calls.length; }

  since(mark) { return this.calls.slice(mark); }
}
