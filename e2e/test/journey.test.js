// Hanko's own web clients against inkan in headless Chromium: the
// published @teamhanko/hanko-elements and @teamhanko/hanko-frontend-sdk
// (package.json pins the versions) take a new user through sign-up with an
// e-mail passcode, a passkey, the profile, logout and a passkey login, once
// with the session in the X-Auth-Token header and once in the cookie.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSMTP, passcodeOf } from '../lib/smtp.js';
import { buildInkan, startInkan } from '../lib/inkan.js';
import { startPageServer } from '../lib/pageserver.js';
import { launchBrowser, addVirtualAuthenticator, Recorder } from '../lib/browser.js';
import { Journey } from '../lib/steps.js';

const artifacts = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'artifacts');
let buildDir, bin, smtp, pages;

before(async () => {
  buildDir = await mkdtemp(join(tmpdir(), 'inkan-e2e-bin-'));
  [bin, smtp, pages] = await Promise.all([buildInkan(buildDir), startSMTP(), startPageServer()]);
});

after(async () => {
  await Promise.allSettled([smtp?.close(), pages?.close()]);
  if (buildDir) await rm(buildDir, { recursive: true, force: true });
});

for (const mode of ['header', 'cookie']) {
  test(`${mode} mode: sign-up, passcode, passkey, profile, logout, passkey login`, async (t) => {
    const inkan = await startInkan({ bin, mode, pageOrigin: pages.origin, smtp });
    const browser = await launchBrowser();
    t.after(async () => {
      await browser.close().catch(() => {});
      await inkan.stop();
    });
    const page = await browser.context.newPage();
    page.setDefaultTimeout(10000);
    const authenticator = await addVirtualAuthenticator(page);
    const rec = new Recorder(page, inkan.api);
    const j = new Journey({
      name: `[${mode} mode, API ${inkan.api}]`, page, recorder: rec, log: inkan.log,
      dir: join(artifacts, mode), diagnostic: (s) => t.diagnostic(s),
    });
    await rm(j.dir, { recursive: true, force: true });

    const email = `ada.${mode}@example.com`;
    const second = `grace.${mode}@example.com`;
    const auth = page.locator('hanko-auth');
    const profile = page.locator('hanko-profile');
    const state = (s) => page.locator(`body[data-state="${s}"]`).waitFor();
    const headline = (el, text) => el.locator('h1', { hasText: text }).waitFor();
    // typeCode types a passcode digit by digit into the element's six
    // fields, as a user does; the element submits on the sixth digit.
    const typeCode = async (el, code) => {
      for (let i = 0; i < 6; i++) await el.locator(`input[name=passcode${i}]`).fill('');
      await el.locator('input[name=passcode0]').click();
      await page.keyboard.type(code, { delay: 20 });
    };
    let code;
    let userID;

    await j.step('open the page', ['GET /.well-known/config 200'], async () => {
      await page.goto(`${pages.origin}/?api=${encodeURIComponent(inkan.api)}`);
      await state('signed-out');
      await headline(auth, 'Sign in or sign up');
    });

    await j.step('enter a new address', ['POST /user 404'], async () => {
      await auth.locator('input[type=email]').pressSequentially(email);
      await auth.getByRole('button', { name: 'Continue' }).click();
      await headline(auth, 'Create account?');
    });

    await j.step('sign up: a passcode mail arrives', ['POST /users 200', 'POST /passcode/login/initialize 200'], async () => {
      const since = smtp.count();
      await auth.getByRole('button', { name: 'Sign up' }).click();
      await headline(auth, 'Enter passcode');
      code = passcodeOf(await smtp.nextMail(email, since));
    });

    await j.step('type a wrong code: the element shows the error', ['POST /passcode/login/finalize 401'], async () => {
      const wrong = code.replace(/\d/g, (d) => String((Number(d) + 1) % 10));
      await typeCode(auth, wrong);
      await auth.locator('#errorMessage', { hasText: 'The passcode provided was not correct.' }).waitFor();
    }, { uiError: 'The passcode provided was not correct.' });

    await j.step('type the code from the mail: the passkey offer', ['POST /passcode/login/finalize 200'], async () => {
      await typeCode(auth, code);
      await headline(auth, 'Create a passkey');
    });

    await j.step('create a passkey: signed in, the profile loads', [
      'POST /webauthn/registration/initialize 200', 'POST /webauthn/registration/finalize 200',
      'GET /emails 200', 'GET /webauthn/credentials 200',
    ], async () => {
      await auth.getByRole('button', { name: 'Create a passkey' }).click();
      await state('signed-in');
      const who = await page.locator('#whoami').textContent();
      assert.match(who, new RegExp(`signed in as ${email.replace(/\./g, '\\.')} \\(`), 'the SDK\'s current user');
      userID = /\(([0-9a-f-]{36})\)/.exec(who)[1];
      const creds = await authenticator.credentials();
      assert.equal(creds.length, 1, 'one passkey in the authenticator');
      assert.equal(creds[0].rpId, 'localhost');
      assert.equal(creds[0].isResidentCredential, true);
      assert.equal(creds[0].userName, email);
    });

    await j.step('the profile shows the address and the passkey', [], async () => {
      await headline(profile, 'Emails');
      await profile.locator('label', { hasText: email }).filter({ hasText: 'primary' }).waitFor();
      await profile.locator('label[for^="passkey-dropdown-"]').first().waitFor();
      assert.equal(await profile.locator('label[for^="passkey-dropdown-"]').count(), 1, 'one passkey listed');
    });

    await j.step('rename the passkey', ['PATCH ^/webauthn/credentials/[A-Za-z0-9_-]+$ 200'], async () => {
      await profile.locator('label[for="passkey-dropdown-0"]').click();
      await profile.getByRole('button', { name: 'Rename' }).click();
      await headline(profile, 'Rename passkey');
      await profile.getByPlaceholder('New passkey name').fill(`Laptop ${mode}`);
      await profile.getByRole('button', { name: 'Save' }).click();
      await profile.locator('label[for="passkey-dropdown-0"]', { hasText: `Laptop ${mode}` }).waitFor();
    });

    await j.step('add a second address: a passcode mail arrives', ['POST /emails 200', 'POST /passcode/login/initialize 200'], async () => {
      const since = smtp.count();
      await profile.locator('label', { hasText: 'Add email' }).click();
      await profile.getByPlaceholder('New email address').pressSequentially(second);
      await profile.getByRole('button', { name: 'Continue' }).click();
      await headline(profile, 'Enter passcode');
      await profile.getByText(`Enter the passcode that was sent to "${second}".`).waitFor();
      code = passcodeOf(await smtp.nextMail(second, since));
    });

    await j.step('verify it with the code from the mail', ['POST /passcode/login/finalize 200', 'GET /emails 200'], async () => {
      await typeCode(profile, code);
      await headline(profile, 'Emails');
      const item = profile.locator('.hanko_accordionItem', { has: page.locator('label', { hasText: second }) });
      await item.waitFor();
      assert.doesNotMatch(await item.locator('label').textContent(), /unverified/);
    });

    await j.step('delete the second address', ['DELETE ^/emails/[0-9a-f-]{36}$ 204'], async () => {
      await profile.locator('label', { hasText: second }).click();
      const item = profile.locator('.hanko_accordionItem', { has: page.locator('label', { hasText: second }) });
      await item.getByRole('button', { name: 'Delete' }).click();
      await item.getByRole('button', { name: 'yes' }).click(); // the element asks "Delete no / yes"
      await profile.locator('label', { hasText: second }).waitFor({ state: 'detached' });
      await profile.locator('label', { hasText: email }).waitFor();
    });

    await j.step('log out: the session is revoked', ['POST /logout 204'], async () => {
      // The session JWT: in header mode the SDK keeps it in a cookie of the
      // page's origin, in cookie mode it is inkan's HttpOnly cookie.
      const jar = mode === 'header' ? pages.origin : inkan.api;
      const token = (await browser.context.cookies(jar)).find((c) => c.name === 'hanko')?.value;
      assert.ok(token, `a session token in the "hanko" cookie of ${jar}`);
      const me = (t) => fetch(`http://127.0.0.1:${new URL(inkan.api).port}/me`, { headers: { Authorization: `Bearer ${t}` } });
      assert.equal((await me(token)).status, 200, 'the token works before logout');
      await page.getByRole('button', { name: 'Log out' }).click();
      await state('signed-out');
      await headline(auth, 'Sign in or sign up');
      assert.equal((await browser.context.cookies(jar)).find((c) => c.name === 'hanko'), undefined, 'the token is gone from the browser');
      assert.equal((await me(token)).status, 401, 'the token is revoked by logout');
    });

    await j.step('sign in with the passkey button', [
      'POST /webauthn/login/initialize 200', 'POST /webauthn/login/finalize 200',
    ], async () => {
      await auth.getByRole('button', { name: 'Sign in with a passkey' }).click();
      await state('signed-in');
      const creds = await authenticator.credentials();
      assert.equal(creds.length, 1, 'still one passkey in the authenticator');
      assert.equal(creds[0].signCount, 2, 'the passkey signed a second time');
      assert.match(await page.locator('#whoami').textContent(), new RegExp(`\\(${userID}\\)`), 'the same user');
      await profile.locator('label[for="passkey-dropdown-0"]', { hasText: `Laptop ${mode}` }).waitFor();
      await profile.locator('label', { hasText: email }).waitFor();
      assert.equal(await profile.locator('label', { hasText: second }).count(), 0, 'the deleted address stays deleted');
    });

    // The session travelled the way this mode says.
    const sessionCalls = rec.calls.filter((c) => c.path === '/me');
    assert.ok(sessionCalls.length > 0);
    if (mode === 'header') {
      assert.ok(sessionCalls.every((c) => c.bearer), 'header mode: every /me call carries Authorization: Bearer');
    } else {
      assert.ok(sessionCalls.every((c) => !c.bearer), 'cookie mode: no Authorization header, the cookie carries the session');
      const cookie = (await browser.context.cookies(inkan.api)).find((c) => c.name === 'hanko');
      assert.ok(cookie, 'cookie mode: the hanko cookie is set for the API');
      assert.equal(cookie.httpOnly, true, 'the session cookie is HttpOnly');
    }
    await j.passed();
  });
}
