// Step runner for a browser journey: each step declares the API calls it
// must cause (method, path, status); it fails on a missing call, a call
// with another status, any other call answering 4xx/5xx, a console error,
// a page error or a failed request (CORS included). A screenshot is taken
// after every step; they are kept, with the call log and inkan's log, when
// the journey fails.
import { mkdir, writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

const fmt = (c) => `${c.method} ${c.path} ${c.status}`;
const matches = (want, c) => want.method === c.method &&
  (typeof want.path === 'string' ? want.path === c.path : want.path.test(c.path));

export function call(spec) {
  const [method, path, status] = spec.split(' ');
  return { method, path: path.startsWith('^') ? new RegExp(path) : path, status: Number(status), text: spec };
}

export class Journey {
  constructor({ name, page, recorder, dir, log, diagnostic }) {
    this.name = name;
    this.page = page;
    this.rec = recorder;
    this.dir = dir;
    this.inkanLog = log;
    this.diagnostic = diagnostic;
    this.n = 0;
    this.summary = [];
    this.end = 0; // the recorder's mark after the last step
  }

  // step runs fn, then waits (up to timeoutMs) until every expected call
  // has been answered, and checks the rules above all along: while fn
  // drives the page, a failed request, a console error, an unexpected
  // status or an error shown by a Hanko element fails the step at once.
  // uiError is the one error text the step expects an element to show.
  async step(title, expected, fn, { uiError, timeoutMs = 10000 } = {}) {
    const n = String(++this.n).padStart(2, '0');
    const label = `${n} ${title}`;
    const mark = this.rec.mark();
    const want = expected.map(call);
    const started = Date.now();
    const text = (e) => e.replace(/^<[^>]+> /, '');
    const baseline = new Set((await shownErrors(this.page)).map(text));
    if (uiError) baseline.add(uiError);
    let stop = false;
    const watch = async () => {
      while (!stop) {
        this.check(want, this.rec.since(mark), false);
        const shown = (await shownErrors(this.page)).filter((e) => !baseline.has(text(e)));
        if (shown.length) throw new Error(`the element shows an error: ${shown.join('; ')}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    try {
      const run = fn();
      run.catch(() => {}); // when the watcher wins, fn's later failure is moot
      const watcher = watch();
      watcher.catch(() => {});
      await Promise.race([run, watcher]);
      const deadline = Date.now() + timeoutMs;
      while (!want.every((w) => this.rec.since(mark).some((c) => matches(w, c) && c.status === w.status))) {
        if (Date.now() > deadline) this.check(want, this.rec.since(mark), true);
        await Promise.race([watcher, new Promise((r) => setTimeout(r, 50))]);
      }
      stop = true;
      await watcher;
      this.check(want, this.rec.since(mark), false);
      await this.shot(label);
    } catch (err) {
      stop = true;
      await this.fail(label, mark, err);
    }
    const calls = this.rec.since(mark);
    this.summary.push(`${label} (${Date.now() - started} ms): ${calls.map(fmt).join(', ') || 'no API call'}`);
    this.diagnostic(`${this.name} ${this.summary.at(-1)}`);
    this.end = this.rec.mark();
  }

  check(want, calls, final) {
    if (this.rec.problems.length) throw new Error(this.rec.problems.join('\n'));
    for (const c of calls) {
      const w = want.find((x) => matches(x, c));
      if (w && w.status !== c.status && !calls.some((o) => matches(w, o) && o.status === w.status)) {
        throw new Error(`expected ${w.text}, got ${fmt(c)}`);
      }
      if (!w && c.status >= 400) throw new Error(`unexpected ${fmt(c)}`);
    }
    if (final) {
      const missing = want.filter((w) => !calls.some((c) => matches(w, c) && c.status === w.status));
      throw new Error(`expected call${missing.length > 1 ? 's' : ''} never came: ${missing.map((w) => w.text).join(', ')}`);
    }
  }

  async shot(label) {
    await mkdir(this.dir, { recursive: true });
    const file = join(this.dir, `${label.replace(/[^a-z0-9]+/gi, '-')}.png`);
    await this.page.screenshot({ path: file, fullPage: true }).catch(() => {});
    return file;
  }

  async fail(label, mark, err) {
    const file = await this.shot(`${label} FAILED`);
    const ui = await describeUI(this.page).catch((e) => `(page not readable: ${e.message})`);
    const calls = this.rec.since(mark).map(fmt).join('\n    ') || '(none)';
    await writeFile(join(this.dir, 'api-calls.txt'), this.rec.calls.map(fmt).join('\n') + '\n');
    await writeFile(join(this.dir, 'problems.txt'), this.rec.problems.join('\n') + '\n');
    await writeFile(join(this.dir, 'inkan.log'), this.inkanLog.join('\n') + '\n');
    const msg = [
      `${this.name}: step "${label}" failed: ${err.message.split('\n')[0]}`,
      ...err.message.split('\n').slice(1).map((l) => `  ${l}`),
      `  the page: ${ui}`,
      `  API calls in this step:\n    ${calls}`,
      `  steps before it:\n    ${this.summary.join('\n    ') || '(none)'}`,
      `  screenshots, API calls and inkan's log: ${this.dir}`,
      `  screenshot of the failure: ${file}`,
    ].join('\n');
    const e = new Error(msg);
    e.stack = msg; // the message is the report; Playwright's stack adds nothing
    throw e;
  }

  // passed checks that nothing went wrong after the last step, then
  // removes the screenshots: they are kept only when the journey fails.
  async passed() {
    try {
      this.check([], this.rec.since(this.end), false);
    } catch (err) {
      await this.fail('after the last step', this.end, err);
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}

// shownErrors lists the error messages the Hanko elements show, each as
// "<element> text"; none while the page is navigating.
function shownErrors(page) {
  return page.evaluate(() => {
    const out = [];
    for (const el of document.querySelectorAll('hanko-auth, hanko-profile')) {
      for (const x of (el.shadowRoot || el).querySelectorAll('.hanko_errorMessage:not([hidden])')) {
        out.push(`<${el.localName}> ${x.textContent.trim()}`);
      }
    }
    return out;
  }).catch(() => []);
}

// describeUI names what the user sees: the app's state and, for each Hanko
// element, its headlines and any error it shows.
export function describeUI(page) {
  return page.evaluate(() => {
    const parts = [`state=${document.body.dataset.state || '?'}`];
    for (const el of document.querySelectorAll('hanko-auth, hanko-profile')) {
      const root = el.shadowRoot || el;
      const h = [...root.querySelectorAll('h1')].map((x) => x.textContent.trim());
      const errs = [...root.querySelectorAll('.hanko_errorMessage:not([hidden])')].map((x) => x.textContent.trim());
      parts.push(`<${el.localName}> headlines ${JSON.stringify(h)}${errs.length ? ` errors ${JSON.stringify(errs)}` : ''}`);
    }
    return parts.join('; ');
  });
}
