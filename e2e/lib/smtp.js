// A real SMTP receiver for the passcode mails inkan sends: smtp-server
// listening on 127.0.0.1 (a free port), every message parsed with
// mailparser and kept in order of arrival.
import { SMTPServer } from 'smtp-server';
import { simpleParser } from 'mailparser';

export async function startSMTP() {
  const mails = [];
  const waiters = [];
  const server = new SMTPServer({
    // Plain SMTP on loopback, no AUTH: inkan uses STARTTLS only when it is
    // offered and AUTH only when email_delivery.smtp.user is set.
    disabledCommands: ['STARTTLS', 'AUTH'],
    authOptional: true,
    logger: false,
    onData(stream, session, callback) {
      simpleParser(stream).then((mail) => {
        const rcpt = session.envelope.rcptTo.map((r) => r.address.toLowerCase());
        const m = { to: rcpt, subject: mail.subject || '', text: mail.text || '', html: mail.html || '' };
        mails.push(m);
        for (const w of waiters.splice(0)) w();
        callback();
      }, callback);
    },
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.server.address();

  // nextMail resolves with the first mail to `address` that arrived after
  // `since` (an index from count()), or rejects after timeoutMs.
  async function nextMail(address, since, timeoutMs = 10000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = mails.slice(since).find((x) => x.to.includes(address.toLowerCase()));
      if (m) return m;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no mail to ${address} within ${timeoutMs} ms (received: ${mails.length} in all)`);
      await new Promise((resolve) => {
        const t = setTimeout(resolve, left);
        waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }

  return {
    host: '127.0.0.1',
    port,
    count: () => mails.length,
    nextMail,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

// passcodeOf returns the 6-digit code of a passcode mail: the plain-text
// part carries it alone on an indented line.
export function passcodeOf(mail) {
  const m = /^\s+(\d{6})\s*$/m.exec(mail.text);
  if (!m) throw new Error(`no 6-digit passcode in the mail "${mail.subject}":\n${mail.text}`);
  return m[1];
}
