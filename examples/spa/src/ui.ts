// Plain DOM: the markup is in index.html; this module fills it in. Text from the server is
// only ever set as text (never as markup), and the QR code is shown as an image.

import { ApiError, Cancelled, type Account, type Auth, type ReauthAnswer } from './api';
import type { MfaSetup, Session } from './auth';

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
  showMfaStep(false);
  for (const id of ['mfa-setup', 'recovery', 'sessions-table']) el(id).hidden = true;
  el('recovery-codes').replaceChildren();
  el('sessions-body').replaceChildren();
  el('sessions-message').textContent = '';
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

/** The code step of a sign-in (`true`) or the password step (`false`). */
export function showMfaStep(on: boolean): void {
  el('mfa-form').hidden = !on;
  el('login-form').hidden = on;
  el('register-form').hidden = on;
  input('mfa-code').value = '';
  if (on) input('mfa-code').focus();
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
