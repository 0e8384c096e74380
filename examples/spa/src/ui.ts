// Plain DOM: the markup is in index.html; this module fills it in. Text from the server is
// only ever set as text (never as markup), and the QR code is shown as an image.

import { ApiError, Cancelled, type Account, type Auth, type ReauthAnswer } from './api';
import type { MfaSetup, MfaStep, Passkey, Session } from './auth';
import { PasskeyError, passkeysSupported } from './webauthn';

export function el<T extends HTMLElement = HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`#${id} is missing from index.html`);
  return found as T;
}

export function input(id: string): HTMLInputElement {
  return el<HTMLInputElement>(id);
}

export function setStatus(text: string): void {
  el('status').textContent = text;
}

/** An alert above the page; `null` hides it. */
export function notify(text: string | null): void {
  const notice = el('notice');
  notice.textContent = text ?? '';
  notice.hidden = text === null;
}

/** What to tell the person about a failed operation. */
export function describe(error: unknown): string {
  if (error instanceof Cancelled) return 'Cancelled: nothing was changed.';
  if (error instanceof PasskeyError) return error.message;
  if (!(error instanceof ApiError)) return 'Something went wrong. Try again.';
  switch (error.code) {
    case 'RATE_LIMITED':
      return error.retryAfter
        ? `Too many attempts. Try again in ${error.retryAfter} seconds.`
        : 'Too many attempts. Try again later.';
    case 'INTERNAL':
      return 'Custodian could not do this. Try again later.';
    default:
      return error.message;
  }
}

/** Runs `task` with the form's (or button's) controls disabled, reporting failures. */
export async function busy(target: HTMLElement, task: () => Promise<void>): Promise<void> {
  const controls = target.matches('form')
    ? Array.from(target.querySelectorAll<HTMLButtonElement | HTMLInputElement>('button, input'))
    : [target as HTMLButtonElement];
  controls.forEach((control) => (control.disabled = true));
  notify(null);
  try {
    await task();
  } catch (error) {
    notify(describe(error));
  } finally {
    controls.forEach((control) => (control.disabled = false));
  }
}

export function showSignedOut(): void {
  setStatus('Signed out');
  el('signed-in').hidden = true;
  el('signed-out').hidden = false;
  showMfaStep(null);
  for (const id of ['mfa-setup', 'recovery', 'sessions-table', 'passkeys-table']) el(id).hidden = true;
  el('recovery-codes').replaceChildren();
  el('sessions-body').replaceChildren();
  el('sessions-message').textContent = '';
  el('passkeys-body').replaceChildren();
  el('passkeys-message').textContent = '';
}

export function showSignedIn(auth: Auth): void {
  setStatus(`Signed in as ${auth.account.email}`);
  el('signed-out').hidden = true;
  el('signed-in').hidden = false;
  renderAccount(auth.account);
}

export function renderAccount(account: Account): void {
  el('account-summary').textContent = `${account.firstName} ${account.lastName}, ${account.email}`;
  el('mfa-status').textContent = account.mfaEnabled ? 'Two-step sign-in is on.' : 'Two-step sign-in is off.';
  el('mfa-start').hidden = account.mfaEnabled;
  if (account.mfaEnabled) el('mfa-setup').hidden = true;
}

/** The second step of a sign-in, or (`null`) the password step. */
export function showMfaStep(step: MfaStep | null): void {
  const on = step !== null;
  el('mfa-form').hidden = !on;
  el('login-form').hidden = on;
  el('register-form').hidden = on;
  el('passkey-login').hidden = on || !passkeysSupported();
  // A passkey when the account has one (and this browser can use it); codes unless the
  // account's only second factor is a passkey.
  const passkey = on && step.methods.includes('passkey') && step.passkeyOptions != null && passkeysSupported();
  const codes = on && (step.methods.length === 0 || step.methods.some((method) => method !== 'passkey'));
  el('mfa-passkey').hidden = !passkey;
  el('mfa-code-field').hidden = !codes;
  input('mfa-code').required = codes;
  el('mfa-verify').hidden = !codes;
  el('mfa-hint').textContent = passkey
    ? codes
      ? 'Use your passkey, or enter the 6-digit code from your authenticator app or one of your recovery codes.'
      : 'Use your passkey.'
    : 'Enter the 6-digit code from your authenticator app, or one of your recovery codes.';
  input('mfa-code').value = '';
  if (codes) input('mfa-code').focus();
}

export function renderMfaSetup(setup: MfaSetup): void {
  el<HTMLImageElement>('mfa-qr').src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(setup.qrCodeSvg)}`;
  el('mfa-secret').textContent = setup.secret;
  el('recovery').hidden = true;
  el('mfa-setup').hidden = false;
  input('mfa-confirm-code').value = '';
  input('mfa-confirm-code').focus();
}

export function renderRecoveryCodes(codes: string[]): void {
  el('mfa-setup').hidden = true;
  el('recovery-codes').replaceChildren(
    ...codes.map((code) => {
      const item = document.createElement('li');
      const text = document.createElement('code');
      text.textContent = code;
      item.append(text);
      return item;
    }),
  );
  el('recovery').hidden = false;
}

function cell(text: string): HTMLTableCellElement {
  const td = document.createElement('td');
  td.textContent = text;
  return td;
}

function when(iso: string): string {
  return new Date(iso).toLocaleString();
}

export function renderSessions(
  sessions: Session[],
  onEnd: (session: Session, button: HTMLButtonElement) => void,
): void {
  const rows = sessions.map((session) => {
    const row = document.createElement('tr');
    row.dataset.sessionId = session.id;
    const action = document.createElement('td');
    if (session.current) {
      action.textContent = 'This device';
    } else {
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = 'End session';
      button.setAttribute('aria-label', `End session signed in ${when(session.createdAt)}`);
      button.addEventListener('click', () => onEnd(session, button));
      action.append(button);
    }
    row.append(
      cell(session.userAgent ?? 'Unknown browser'),
      cell(when(session.createdAt)),
      cell(when(session.lastActiveAt)),
      cell(session.mfaVerified ? 'Yes' : 'No'),
      action,
    );
    return row;
  });
  el('sessions-body').replaceChildren(...rows);
  el('sessions-table').hidden = false;
  el('sessions-message').textContent =
    sessions.length === 1 ? '1 active session.' : `${sessions.length} active sessions.`;
}

export function renderPasskeys(
  passkeys: Passkey[],
  onRemove: (passkey: Passkey, button: HTMLButtonElement) => void,
): void {
  const rows = passkeys.map((passkey) => {
    const row = document.createElement('tr');
    row.dataset.passkeyId = passkey.id;
    const action = document.createElement('td');
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = 'Remove';
    button.setAttribute('aria-label', `Remove passkey ${passkey.name}`);
    button.addEventListener('click', () => onRemove(passkey, button));
    action.append(button);
    row.append(
      cell(passkey.name),
      cell(when(passkey.createdAt)),
      cell(passkey.lastUsedAt ? when(passkey.lastUsedAt) : 'Never'),
      cell(passkey.backedUp ? 'Yes' : 'No'),
      action,
    );
    return row;
  });
  el('passkeys-body').replaceChildren(...rows);
  el('passkeys-table').hidden = passkeys.length === 0;
  el('passkeys-message').textContent =
    passkeys.length === 0 ? 'No passkeys yet.' : passkeys.length === 1 ? '1 passkey.' : `${passkeys.length} passkeys.`;
}

/** Asks what to call a new passkey; resolves `null` when cancelled. */
export function promptPasskeyName(): Promise<string | null> {
  const dialog = el<HTMLDialogElement>('passkey-dialog');
  const form = el<HTMLFormElement>('passkey-form');
  const name = input('passkey-name');
  name.value = '';
  return new Promise((resolve) => {
    const finish = (answer: string | null) => {
      form.removeEventListener('submit', submit);
      el('passkey-cancel').removeEventListener('click', cancel);
      dialog.removeEventListener('cancel', cancel);
      dialog.close();
      resolve(answer);
    };
    const submit = (event: Event) => {
      event.preventDefault();
      finish(name.value.trim());
    };
    const cancel = (event: Event) => {
      event.preventDefault();
      finish(null);
    };
    form.addEventListener('submit', submit);
    el('passkey-cancel').addEventListener('click', cancel);
    dialog.addEventListener('cancel', cancel);
    dialog.showModal();
    name.focus();
  });
}

/** The re-authentication dialog; resolves `null` when cancelled. */
export function promptReauth(account: Account | null, error?: ApiError): Promise<ReauthAnswer | null> {
  const dialog = el<HTMLDialogElement>('reauth-dialog');
  const form = el<HTMLFormElement>('reauth-form');
  const password = input('reauth-password');
  const code = input('reauth-code');
  const withCode = account?.mfaEnabled ?? false;
  el('reauth-code-field').hidden = !withCode;
  code.required = withCode;
  password.value = '';
  code.value = '';
  const problem = el('reauth-error');
  problem.textContent = error ? describe(error) : '';
  problem.hidden = !error;
  return new Promise((resolve) => {
    const finish = (answer: ReauthAnswer | null) => {
      form.removeEventListener('submit', submit);
      el('reauth-cancel').removeEventListener('click', cancel);
      dialog.removeEventListener('cancel', cancel);
      dialog.close();
      resolve(answer);
    };
    const submit = (event: Event) => {
      event.preventDefault();
      finish({ password: password.value, code: withCode ? code.value.trim() : undefined });
    };
    const cancel = (event: Event) => {
      event.preventDefault();
      finish(null);
    };
    form.addEventListener('submit', submit);
    el('reauth-cancel').addEventListener('click', cancel);
    dialog.addEventListener('cancel', cancel);
    dialog.showModal();
    password.focus();
  });
}
