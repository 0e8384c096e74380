// Browser test of the example SPA against a real Custodian.
//
// Starts Custodian (CUSTODIAN_BIN, default ../../target/debug/custodian) on a free loopback port
// over a throwaway SQLite folder, builds the SPA for it and serves it from another loopback
// origin, serves a third origin that Custodian does not allow, and drives headless Chromium
// (CHROMIUM_PATH, default /usr/bin/chromium) through: register, a passkey and MFA enrolment
// behind re-authentications, sign-out, sign-in with a code, two tabs refreshing at once, ending
// another device's session, the foreign origin reading nothing, sign-out of every tab, then
// sign-in with the passkey alone and as the second step, removing it and adding one again.
// Every origin is `http://localhost:<port>` (all listening on 127.0.0.1): WebAuthn needs a
// domain for its relying party id, and one host keeps the pages and Custodian same-site.
// Passkeys come from Chromium's virtual authenticator (DevTools protocol, `WebAuthn` domain).
//
// E2E_TRUSTED_ONLY=1: the SPA sends only document ids and Custodian runs with
// CUSTODIAN_TRUSTED_DOCUMENTS_ONLY=true (needs a server with trusted-document support).

import { spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

import { base32Decode, selfTest, stepAt, totp } from './totp.mjs';

const spaDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CUSTODIAN_BIN = process.env.CUSTODIAN_BIN
  ? path.resolve(process.env.CUSTODIAN_BIN)
  : path.resolve(spaDir, '../../target/debug/custodian');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const TRUSTED_ONLY = process.env.E2E_TRUSTED_ONLY === '1';
const MANIFEST = path.join(spaDir, 'persisted-documents.json');
// E2E_TRACE=1 prints each GraphQL operation the SPA sends, with the error code it got.
const TRACE = process.env.E2E_TRACE === '1';

const TOTAL_TIMEOUT_MS = 240_000;
const STEP_TIMEOUT_MS = 20_000;
// Short enough that the test can wait for tokens to expire; long enough for every step.
const ACCESS_TOKEN_TTL_SECS = 3;
// How long after `exp` Custodian still takes an access token (clock skew between instances).
const SERVER_LEEWAY_SECS = 5;
// Short, so that enrolling MFA a little after registering needs `reauthenticate`.
const REAUTH_WINDOW_SECS = 2;

// ---------------------------------------------------------------------------------------------
// Processes, servers and cleanup

const cleanups = [];
let finished = false;

async function cleanup() {
  while (cleanups.length) {
    const task = cleanups.pop();
    try {
      await task();
    } catch (error) {
      console.error(`cleanup: ${error.message}`);
    }
  }
}

async function finish(code) {
  if (finished) return;
  finished = true;
  clearTimeout(watchdog);
  await cleanup();
  process.exit(code);
}

const watchdog = setTimeout(() => {
  console.error(`e2e: gave up after ${TOTAL_TIMEOUT_MS / 1000} s`);
  void finish(1);
}, TOTAL_TIMEOUT_MS);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => void finish(130));
for (const event of ['uncaughtException', 'unhandledRejection']) {
  process.on(event, (error) => {
    console.error(`e2e: ${error?.stack ?? error}`);
    void finish(1);
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Runs a command to completion within `timeoutMs`, its output passed through. */
function run(command, args, { cwd, env, timeoutMs }) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'inherit', 'inherit'] });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`${path.basename(command)} ${args[1] ?? ''} failed (${signal ?? code})`));
    });
  });
}

/** Stops a child by its pid: SIGTERM, then SIGKILL after five seconds. */
async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
};

/** A loopback HTTP server, named `localhost`; `handler` answers `{ type, body }`. */
async function serve(handler) {
  const server = createServer(async (request, response) => {
    try {
      const { type, body } = await handler(new URL(request.url, 'http://localhost'));
      response.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' });
      response.end(body);
    } catch {
      response.writeHead(404, { 'content-type': 'text/plain' });
      response.end('not found');
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  server.closeAllConnections && cleanups.push(() => server.closeAllConnections());
  return `http://localhost:${server.address().port}`;
}

/** The built SPA: files under `root`, anything else is index.html. */
function staticFiles(root) {
  return async (url) => {
    let file = path.join(root, path.normalize(decodeURIComponent(url.pathname)));
    if (!file.startsWith(root + path.sep)) file = path.join(root, 'index.html');
    try {
      if ((await stat(file)).isDirectory()) file = path.join(file, 'index.html');
    } catch {
      file = path.join(root, 'index.html');
    }
    return { type: TYPES[path.extname(file)] ?? 'application/octet-stream', body: await readFile(file) };
  };
}

/** A page on an origin Custodian does not allow, trying to read the signed-in person's data. */
function foreignPage(custodianUrl) {
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Foreign page</title></head>
<body><h1>Foreign page</h1><pre id="out">running</pre><script type="module">
const target = ${JSON.stringify(`${custodianUrl}/graphql`)};
const json = { 'content-type': 'application/json' };
const attempts = {
  'POST me': () => fetch(target, { method: 'POST', credentials: 'include', headers: json,
    body: JSON.stringify({ query: '{ me { email } }' }) }),
  'GET me': () => fetch(target + '?query=' + encodeURIComponent('{ me { email } }'), { credentials: 'include' }),
  'POST refreshToken': () => fetch(target, { method: 'POST', credentials: 'include', headers: json,
    body: JSON.stringify({ query: 'mutation { refreshToken { accessToken } }' }) }),
  'no-cors POST me': () => fetch(target, { method: 'POST', mode: 'no-cors', credentials: 'include',
    headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ query: '{ me { email } }' }) }),
};
const lines = [];
for (const [name, attempt] of Object.entries(attempts)) {
  try {
    const response = await attempt();
    const text = await response.text();
    lines.push(response.type === 'opaque' && text === ''
      ? name + ': opaque, nothing readable'
      : name + ': READ ' + response.status + ' ' + text);
  } catch (error) {
    lines.push(name + ': blocked (' + error.name + ')');
  }
}
document.getElementById('out').textContent = lines.join('\\n') + '\\ndone';
</script></body></html>`;
  return async () => ({ type: TYPES['.html'], body: html });
}

// ---------------------------------------------------------------------------------------------
// Checks

let stepNumber = 0;
async function step(name, task) {
  stepNumber += 1;
  const started = Date.now();
  await task();
  console.log(`ok ${stepNumber} - ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

/** Waits for the page's status line (role=status in the banner) to read `text`. */
async function expectStatus(page, text) {
  await page.getByRole('banner').getByRole('status').filter({ hasText: new RegExp(`^${text}$`) }).waitFor();
}

async function expectText(page, text) {
  await page.getByText(text, { exact: true }).first().waitFor();
}

/** The row of the passkeys list that names `name`. */
function passkeyRow(page, name) {
  return page.getByRole('table', { name: 'Your passkeys' }).getByRole('row').filter({ hasText: name });
}

/** Whether the sessions list says this device's session passed two steps. */
async function thisSessionIsTwoStep(page) {
  await page.getByRole('button', { name: 'Reload sessions' }).click();
  const row = page.getByRole('table', { name: 'Where you are signed in' }).getByRole('row').filter({ hasText: 'This device' });
  return (await row.getByRole('cell').nth(3).textContent()).trim() === 'Yes';
}

/** Fills the re-authentication dialog, which must open, with the password and maybe a code. */
async function reauthenticate(page, password, code) {
  const dialog = page.getByRole('dialog', { name: /Confirm it/ });
  await dialog.waitFor();
  await dialog.getByLabel('Password').fill(password);
  if (code) await dialog.getByLabel('Code from your app').fill(code);
  await dialog.getByRole('button', { name: 'Confirm' }).click();
  await dialog.waitFor({ state: 'hidden' });
}

/**
 * "Add a passkey" on a signed-in page whose re-authentication window has closed: the name,
 * then the password (and code), then the authenticator makes it without asking.
 */
async function addPasskey(page, name, password, code) {
  await page.getByRole('button', { name: 'Add a passkey' }).click();
  const naming = page.getByRole('dialog', { name: 'Name your passkey' });
  await naming.getByLabel('Name', { exact: true }).fill(name);
  await naming.getByRole('button', { name: 'Create passkey' }).click();
  await naming.waitFor({ state: 'hidden' });
  await reauthenticate(page, password, code);
  await expectText(page, `Passkey “${name}” added. 1 passkey.`);
  await passkeyRow(page, name).filter({ hasText: 'Never' }).waitFor();
}

/**
 * Takes the browser's WebAuthn JSON helpers away until the page loads again, so that the SPA
 * converts options and credentials with its own base64url code.
 */
async function withoutJsonHelpers(page) {
  const left = await page.evaluate(() => {
    delete PublicKeyCredential.parseCreationOptionsFromJSON;
    delete PublicKeyCredential.parseRequestOptionsFromJSON;
    delete PublicKeyCredential.prototype.toJSON;
    return [
      PublicKeyCredential.parseCreationOptionsFromJSON,
      PublicKeyCredential.parseRequestOptionsFromJSON,
      PublicKeyCredential.prototype.toJSON,
    ].filter(Boolean).length;
  });
  check(left === 0, 'the WebAuthn JSON helpers could not be taken away');
}

// ---------------------------------------------------------------------------------------------

async function main() {
  await step('TOTP matches RFC 6238; the Custodian binary and Chromium are there', async () => {
    selfTest();
    for (const [file, hint] of [
      [CUSTODIAN_BIN, 'run `cargo build --bin custodian` at the repository root, or set CUSTODIAN_BIN'],
      [CHROMIUM, 'install Chromium (Debian: apt-get install chromium), or set CHROMIUM_PATH'],
    ]) {
      await stat(file).catch(() => {
        throw new Error(`${file} is missing: ${hint}`);
      });
    }
  });
  const manifest = JSON.parse(readFileSync(MANIFEST, 'utf8'));
  const idOf = (name) => {
    const id = Object.keys(manifest).find((key) => new RegExp(`\\b(query|mutation) ${name}\\b`).test(manifest[key]));
    check(id, `${name} is not in persisted-documents.json`);
    return id;
  };
  const REFRESH_ID = idOf('RefreshToken');
  const TOKEN_IDS = new Set(
    ['Register', 'Login', 'VerifyMfa', 'RefreshToken', 'FinishPasskeyLogin', 'VerifyMfaPasskey'].map(idOf),
  );

  const work = await mkdtemp(path.join(tmpdir(), 'custodian-spa-e2e-'));
  cleanups.push(() => rm(work, { recursive: true, force: true }));

  // Origins first: Custodian must name the SPA's, and the SPA is built with Custodian's. The
  // browser reaches everything as localhost; this script talks to Custodian by its address.
  const port = await freePort();
  const custodianUrl = `http://localhost:${port}`;
  const graphqlUrl = `${custodianUrl}/graphql`;
  const directUrl = `http://127.0.0.1:${port}`;
  const dist = path.join(work, 'dist');
  const spaOrigin = await serve(staticFiles(dist));
  const foreignOrigin = await serve(foreignPage(custodianUrl));
  console.log(`# Custodian ${custodianUrl}, SPA ${spaOrigin}, foreign page ${foreignOrigin}`);
  console.log(`# ${TRUSTED_ONLY ? 'trusted documents only: sending documentId alone' : 'sending documentId and query'}`);

  await step('build the SPA for this Custodian', () =>
    run(process.execPath, [path.join(spaDir, 'node_modules/vite/bin/vite.js'), 'build', '--outDir', dist, '--emptyOutDir', '--logLevel', 'warn'], {
      cwd: spaDir,
      env: { ...process.env, VITE_CUSTODIAN_URL: custodianUrl, VITE_SEND_QUERY: TRUSTED_ONLY ? 'false' : 'true' },
      timeoutMs: 120_000,
    }),
  );

  logPath = path.join(work, 'custodian.log');
  let custodian;
  await step('start Custodian', async () => {
    const data = path.join(work, 'data');
    // A clean environment: nothing from the caller's CUSTODIAN_* settings leaks in, and the
    // working folder holds no custodian.toml.
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: work,
      RUST_LOG: process.env.E2E_RUST_LOG || 'info',
      CUSTODIAN_LISTEN: `127.0.0.1:${port}`,
      CUSTODIAN_PUBLIC_URL: custodianUrl,
      CUSTODIAN_DATA_DIR: data,
      CUSTODIAN_DATABASE_URL: `sqlite://${data}/custodian.db?mode=rwc`,
      CUSTODIAN_COOKIE_SECURE: 'false',
      CUSTODIAN_CORS_ORIGINS: spaOrigin,
      // Passkeys are bound to the domain `localhost`, made on the SPA's pages only.
      CUSTODIAN_WEBAUTHN_RP_ID: 'localhost',
      CUSTODIAN_WEBAUTHN_ORIGINS: spaOrigin,
      CUSTODIAN_TRUSTED_DOCUMENTS: MANIFEST,
      CUSTODIAN_ACCESS_TOKEN_TTL_SECS: String(ACCESS_TOKEN_TTL_SECS),
      // No grace: two tabs spending one refresh token would end the session.
      CUSTODIAN_REFRESH_GRACE_SECS: '0',
      CUSTODIAN_REAUTH_WINDOW_SECS: String(REAUTH_WINDOW_SECS),
      CUSTODIAN_MAIL_TRANSPORT: 'file',
      CUSTODIAN_LOG_FORMAT: 'text',
      NO_COLOR: '1',
    };
    if (TRUSTED_ONLY) env.CUSTODIAN_TRUSTED_DOCUMENTS_ONLY = 'true';
    const log = createWriteStream(logPath);
    custodian = spawn(CUSTODIAN_BIN, [], { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'] });
    custodian.stdout.pipe(log, { end: false });
    custodian.stderr.pipe(log, { end: false });
    cleanups.push(() => stop(custodian));
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (custodian.exitCode !== null) throw new Error(`Custodian exited (${custodian.exitCode})`);
      try {
        if ((await fetch(`${directUrl}/healthz`)).ok) break;
      } catch {
        // Not listening yet.
      }
      if (Date.now() > deadline) throw new Error('Custodian did not answer /healthz within 60 s');
      await sleep(200);
    }
  });

  if (TRUSTED_ONLY) {
    await step('Custodian runs documents by id and refuses any other', async () => {
      const post = async (body) => {
        const response = await fetch(`${directUrl}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        return response.json().catch(() => ({}));
      };
      const byId = await post({ documentId: REFRESH_ID, variables: {} });
      // No refresh cookie here: a server that found the document answers UNAUTHENTICATED.
      check(
        byId.errors?.[0]?.extensions?.code === 'UNAUTHENTICATED',
        `a documentId-only request was not run (does this Custodian support CUSTODIAN_TRUSTED_DOCUMENTS?): ${JSON.stringify(byId)}`,
      );
      const byText = await post({ query: '{ __typename }' });
      check(!byText.data?.__typename && byText.errors?.length, `a document outside the manifest ran: ${JSON.stringify(byText)}`);
    });
  }

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 60_000,
    // Chromium's sandbox cannot start as root (CI containers).
    args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
  });
  cleanups.push(() => browser.close());

  // Every GraphQL request the SPA makes: a known document id, with or without its text.
  const problems = [];
  const counts = { refresh: 0 };
  let lastTokenAt = 0;
  const fromSpa = (request) => {
    try {
      return request.url() === graphqlUrl && request.method() === 'POST' && request.frame().url().startsWith(spaOrigin);
    } catch {
      return false;
    }
  };
  const watch = (context) => {
    context.setDefaultTimeout(STEP_TIMEOUT_MS);
    context.on('request', (request) => {
      if (!fromSpa(request)) return;
      let body = null;
      try {
        body = request.postDataJSON();
      } catch {
        // Not JSON: reported as unknown below.
      }
      if (!body || !(body.documentId in manifest)) problems.push(`unknown documentId: ${request.postData()}`);
      else if (TRUSTED_ONLY && 'query' in body) problems.push(`query sent by a trusted-only build: ${body.documentId}`);
      else if (!TRUSTED_ONLY && body.query !== manifest[body.documentId]) problems.push(`query is not the manifest's text: ${body.documentId}`);
      if (body?.documentId === REFRESH_ID) counts.refresh += 1;
    });
    context.on('response', async (response) => {
      if (!fromSpa(response.request())) return;
      let documentId;
      try {
        documentId = response.request().postDataJSON()?.documentId;
      } catch {
        return;
      }
      if (TOKEN_IDS.has(documentId)) lastTokenAt = Date.now();
      if (TRACE) {
        const name = /(?:query|mutation) (\w+)/.exec(manifest[documentId] ?? '')?.[1] ?? documentId;
        const body = await response.text().catch(() => '');
        const error = /"code":"(\w+)"/.exec(body)?.[1];
        console.log(`#   ${new Date().toISOString().slice(11, 23)} ${name}${error ? ` -> ${error}` : ''}`);
      }
    });
  };
  const pageErrors = [];
  const open = async (context, url) => {
    const page = await context.newPage();
    openPages.push(page);
    page.on('pageerror', (error) => pageErrors.push(`${page.url()}: ${error.message}`));
    page.on('console', (message) => consoleLines.push(`${page.url()} ${message.type()}: ${message.text()}`));
    await page.goto(url);
    return page;
  };

  const context = await browser.newContext();
  watch(context);
  const email = `ada.${Date.now()}@example.com`;
  const password = `amber kettle ${Math.random().toString(36).slice(2, 8)} quiet harbour`;
  let key;
  let lastStep;
  let recoveryCodes;

  const page = await open(context, spaOrigin);
  let cdp;
  let authenticatorId;
  const heldPasskeys = async () => (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials;

  await step('a virtual passkey authenticator in the first tab', async () => {
    // Like a phone or laptop: it keeps discoverable credentials, verifies its user (as a
    // fingerprint would) and is touched without anyone asking.
    cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    ({ authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    }));
    // The browser converts WebAuthn JSON itself (the SPA's fallback is tried further on).
    const helpers = await page.evaluate(() =>
      [
        PublicKeyCredential.parseCreationOptionsFromJSON,
        PublicKeyCredential.parseRequestOptionsFromJSON,
        PublicKeyCredential.prototype.toJSON,
      ].every((helper) => typeof helper === 'function'),
    );
    check(helpers, 'this Chromium lacks the WebAuthn JSON helpers');
  });

  await step('a new visitor is signed out', () => expectStatus(page, 'Signed out'));

  await step('register', async () => {
    const form = page.getByRole('form', { name: 'Create an account' });
    await form.getByLabel('Email', { exact: true }).fill(email);
    await form.getByLabel('Password', { exact: true }).fill(password);
    await form.getByLabel('First name').fill('Ada');
    await form.getByLabel('Last name').fill('Lovelace');
    await form.getByRole('button', { name: 'Create account' }).click();
    await expectStatus(page, `Signed in as ${email}`);
    await expectText(page, 'Two-step sign-in is off.');
  });

  await step('adding a passkey asks for its name, then the password (the re-authentication window has closed)', async () => {
    await sleep((REAUTH_WINDOW_SECS + 1) * 1000);
    await addPasskey(page, 'Work laptop', password);
    const held = await heldPasskeys();
    check(held.length === 1 && held[0].isResidentCredential, `the authenticator holds ${JSON.stringify(held.map((c) => c.isResidentCredential))}`);
    check(held[0].rpId === 'localhost', `the passkey is bound to ${held[0].rpId}, not localhost`);
  });

  await step('enrolling MFA outside the re-authentication window asks for the password', async () => {
    await sleep((REAUTH_WINDOW_SECS + 1) * 1000);
    await page.getByRole('button', { name: 'Set up two-step sign-in' }).click();
    const dialog = page.getByRole('dialog', { name: /Confirm it/ });
    await dialog.waitFor();
    await dialog.getByLabel('Password').fill(password);
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await expectText(page, 'Scan this QR code with your authenticator app, or type the secret key into it.');
    const qr = page.getByRole('img', { name: 'QR code for your authenticator app' });
    check(await qr.evaluate((img) => img.complete && img.naturalWidth > 0), 'the QR code image did not load');
  });

  await step('confirm MFA with a code computed from the secret shown', async () => {
    const secret = (await page.getByLabel('Secret key').textContent()).trim();
    check(/^[A-Z2-7]{16,}=*$/.test(secret), `the secret shown is not base32: ${secret}`);
    key = base32Decode(secret);
    lastStep = stepAt();
    const form = page.getByRole('form', { name: 'Confirm with a code' });
    await form.getByLabel('Code from your app').fill(totp(key, lastStep));
    await form.getByRole('button', { name: 'Turn on two-step sign-in' }).click();
    await expectText(page, 'Two-step sign-in is on.');
    const list = page.getByRole('list', { name: 'Recovery codes' });
    await list.waitFor();
    recoveryCodes = (await list.getByRole('listitem').allTextContents()).map((code) => code.trim());
    check(recoveryCodes.length === 10, `expected 10 recovery codes, saw ${recoveryCodes.length}`);
  });

  await step('sign out', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expectStatus(page, 'Signed out');
  });

  await step('sign in with the password, then the next code', async () => {
    const form = page.getByRole('form', { name: 'Sign in', exact: true });
    await form.getByLabel('Email').fill(email);
    await form.getByLabel('Password').fill(password);
    await form.getByRole('button', { name: 'Sign in' }).click();
    const mfa = page.getByRole('form', { name: 'Two-step sign-in' });
    await mfa.waitFor();
    // Each time step is accepted once: the one used to confirm is spent.
    lastStep = Math.max(stepAt(), lastStep + 1);
    await mfa.getByLabel('Code', { exact: true }).fill(totp(key, lastStep));
    await mfa.getByRole('button', { name: 'Verify' }).click();
    await expectStatus(page, `Signed in as ${email}`);
    await expectText(page, 'Two-step sign-in is on.');
  });

  const page2 = await open(context, spaOrigin);

  await step('a second tab is signed in too', () => expectStatus(page2, `Signed in as ${email}`));

  await step('two tabs with expired access tokens refresh once, together', async () => {
    const wait = lastTokenAt + (ACCESS_TOKEN_TTL_SECS + SERVER_LEEWAY_SECS + 1.5) * 1000 - Date.now();
    if (wait > 0) await sleep(wait);
    const before = counts.refresh;
    await Promise.all([
      page.getByRole('button', { name: 'Reload sessions' }).click(),
      page2.getByRole('button', { name: 'Reload sessions' }).click(),
    ]);
    for (const tab of [page, page2]) {
      await expectText(tab, '1 active session.');
      await expectText(tab, 'This device');
      await expectStatus(tab, `Signed in as ${email}`);
    }
    const spent = counts.refresh - before;
    check(spent === 1, `expected one refresh for both tabs, saw ${spent}`);
  });

  const device = await browser.newContext();
  watch(device);
  const other = await open(device, spaOrigin);

  await step('another device signs in with a recovery code', async () => {
    await expectStatus(other, 'Signed out');
    const form = other.getByRole('form', { name: 'Sign in', exact: true });
    await form.getByLabel('Email').fill(email);
    await form.getByLabel('Password').fill(password);
    await form.getByRole('button', { name: 'Sign in' }).click();
    const mfa = other.getByRole('form', { name: 'Two-step sign-in' });
    await mfa.getByLabel('Code', { exact: true }).fill(recoveryCodes[0]);
    await mfa.getByRole('button', { name: 'Verify' }).click();
    await expectStatus(other, `Signed in as ${email}`);
  });

  await step('end the other device’s session from the sessions list', async () => {
    // Background tabs get throttled; a person would be looking at this one.
    await page.bringToFront();
    await page.getByRole('button', { name: 'Reload sessions' }).click();
    await expectText(page, '2 active sessions.');
    await page.getByRole('button', { name: /^End session/ }).click();
    await expectText(page, 'Session ended. 1 active session.');
  });

  await step('the ended device is signed out at its next request', async () => {
    await other.bringToFront();
    await other.getByRole('button', { name: 'Reload sessions' }).click();
    await expectStatus(other, 'Signed out');
    await expectText(other, 'Your session has ended. Sign in again.');
  });

  await step('a page on an origin not in CUSTODIAN_CORS_ORIGINS reads nothing', async () => {
    const foreign = await open(context, foreignOrigin);
    const out = foreign.locator('#out');
    await out.filter({ hasText: 'done' }).waitFor();
    const lines = (await out.textContent()).split('\n').filter((line) => line && line !== 'done');
    console.log(lines.map((line) => `#   ${line}`).join('\n'));
    check(lines.length === 4, `expected 4 attempts, saw ${lines.length}`);
    for (const line of lines) {
      check(/: (blocked \(TypeError\)|opaque, nothing readable)$/.test(line), `the foreign page read something: ${line}`);
      check(!line.includes(email), `the foreign page saw the email: ${line}`);
    }
    await foreign.close();
    // And nothing it tried ended or rotated the session.
    await page.bringToFront();
    await page.getByRole('button', { name: 'Reload sessions' }).click();
    await expectText(page, '1 active session.');
    await expectStatus(page, `Signed in as ${email}`);
  });

  await step('sign out signs out every tab', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expectStatus(page, 'Signed out');
    await expectStatus(page2, 'Signed out');
    await page2.reload();
    await expectStatus(page2, 'Signed out');
  });

  await step('sign in with the passkey: one click, no email', async () => {
    await page.bringToFront();
    await expectStatus(page, 'Signed out');
    await page.getByRole('form', { name: 'Sign in', exact: true }).getByLabel('Email').fill('');
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await expectStatus(page, `Signed in as ${email}`);
    // Its row now shows a last use, and the session counts as two steps (the passkey checked
    // who held the device), so no code was asked although MFA is on.
    await passkeyRow(page, 'Work laptop').waitFor();
    check(!(await passkeyRow(page, 'Work laptop').textContent()).includes('Never'), 'the passkey shows no last use');
    check(await thisSessionIsTwoStep(page), 'the passkey session does not count as two-step');
  });

  await step('sign out; then the password, and the passkey as the second step (no JSON helpers)', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expectStatus(page, 'Signed out');
    await withoutJsonHelpers(page);
    const form = page.getByRole('form', { name: 'Sign in', exact: true });
    await form.getByLabel('Email').fill(email);
    await form.getByLabel('Password').fill(password);
    await form.getByRole('button', { name: 'Sign in' }).click();
    const mfa = page.getByRole('form', { name: 'Two-step sign-in' });
    await mfa.waitFor();
    // Both ways are offered: the account has an app and a passkey.
    check(await mfa.getByLabel('Code', { exact: true }).isVisible(), 'the code field is missing');
    await mfa.getByRole('button', { name: 'Use a passkey' }).click();
    await expectStatus(page, `Signed in as ${email}`);
    check(await thisSessionIsTwoStep(page), 'the session does not count as two-step');
  });

  await step('remove the passkey, confirming with the password and a recovery code', async () => {
    await sleep((REAUTH_WINDOW_SECS + 1) * 1000);
    await page.getByRole('button', { name: 'Remove passkey Work laptop' }).click();
    await reauthenticate(page, password, recoveryCodes[1]);
    await expectText(page, 'Passkey “Work laptop” removed. No passkeys yet.');
    check((await heldPasskeys()).length === 1, 'the device should still hold the removed passkey');
  });

  await step('the removed passkey signs nobody in', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expectStatus(page, 'Signed out');
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await expectText(
      page,
      'That passkey did not sign you in: it belongs to no account here (it may have been removed), or the sign-in took too long. Try again, or use your email and password.',
    );
    await expectStatus(page, 'Signed out');
  });

  await step('sign in with a recovery code, then add a passkey again (no JSON helpers)', async () => {
    const form = page.getByRole('form', { name: 'Sign in', exact: true });
    await form.getByLabel('Email').fill(email);
    await form.getByLabel('Password').fill(password);
    await form.getByRole('button', { name: 'Sign in' }).click();
    const mfa = page.getByRole('form', { name: 'Two-step sign-in' });
    await mfa.getByLabel('Code', { exact: true }).fill(recoveryCodes[2]);
    await mfa.getByRole('button', { name: 'Verify' }).click();
    await expectStatus(page, `Signed in as ${email}`);
    await expectText(page, 'No passkeys yet.');
    await sleep((REAUTH_WINDOW_SECS + 1) * 1000);
    await withoutJsonHelpers(page);
    await addPasskey(page, 'Phone', password, recoveryCodes[3]);
  });

  await step('the new passkey signs in', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expectStatus(page, 'Signed out');
    // A fresh page: the browser's helpers are back.
    await page.reload();
    await expectStatus(page, 'Signed out');
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await expectStatus(page, `Signed in as ${email}`);
    await passkeyRow(page, 'Phone').waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expectStatus(page, 'Signed out');
  });

  await step('every request sent a known document id', () => {
    check(problems.length === 0, problems.join('\n'));
    check(pageErrors.length === 0, `errors in the page:\n${pageErrors.join('\n')}`);
  });

}

let logPath;
const openPages = [];
const consoleLines = [];

/** What each open page shows in its status line and alerts, to explain a failure. */
async function describePages() {
  for (const page of openPages) {
    if (page.isClosed()) continue;
    try {
      const shown = await page.evaluate(() =>
        Array.from(document.querySelectorAll('[role=status], [role=alert]'))
          .filter((node) => !node.closest('[hidden]') && node.textContent.trim())
          .map((node) => `${node.getAttribute('role')}: ${node.textContent.trim()}`)
          .concat(
            Array.from(document.querySelectorAll('form'))
              .filter((form) => !form.closest('[hidden]'))
              .map((form) => `form ${form.id}: ${Array.from(form.elements).map((e) => `${e.id || e.textContent}=${e.type === 'password' ? '***' : e.value}${e.disabled ? '(disabled)' : ''}`).join(' ')}`),
          ),
      );
      console.error(`# ${page.url()}\n${shown.map((line) => `#   ${line}`).join('\n')}`);
    } catch {
      // The page is gone.
    }
  }
}

try {
  await main();
  console.log(`e2e: all ${stepNumber} steps passed`);
  await finish(0);
} catch (error) {
  console.error(`not ok ${stepNumber} - ${error.message}`);
  await describePages();
  if (consoleLines.length) console.error(`# browser console:\n${consoleLines.slice(-20).join('\n')}`);
  try {
    const log = await readFile(logPath ?? '', 'utf8');
    console.error(`--- last lines of the Custodian log ---\n${log.split('\n').slice(-30).join('\n')}`);
  } catch {
    // No log yet.
  }
  await finish(1);
}
