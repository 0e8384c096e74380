import { ApiError, currentAuth, onAuthChange, restore, setReauthPrompt } from './api';
import * as auth from './auth';
import {
  busy,
  el,
  input,
  notify,
  promptReauth,
  renderAccount,
  renderMfaSetup,
  renderRecoveryCodes,
  renderSessions,
  showMfaStep,
  showSignedIn,
  showSignedOut,
} from './ui';

let mfaToken: string | null = null;

setReauthPrompt(promptReauth);

// Signed in or out here, in another tab, or by a refused refresh.
onAuthChange((state, change) => {
  if (state) {
    if (el('signed-in').hidden || change === 'signed-in') showSignedIn(state);
    else renderAccount(state.account);
    return;
  }
  mfaToken = null;
  showSignedOut();
  if (change === 'ended') notify('Your session has ended. Sign in again.');
});

function onSubmit(id: string, task: () => Promise<void>): void {
  const form = el<HTMLFormElement>(id);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void busy(form, task);
  });
}

function onClick(id: string, task: () => Promise<void>): void {
  const button = el<HTMLButtonElement>(id);
  button.addEventListener('click', () => void busy(button, task));
}

onSubmit('register-form', async () => {
  await auth.register({
    email: input('register-email').value,
    password: input('register-password').value,
    firstName: input('register-first-name').value,
    lastName: input('register-last-name').value,
  });
  el<HTMLFormElement>('register-form').reset();
});

onSubmit('login-form', async () => {
  const result = await auth.login(input('login-email').value, input('login-password').value);
  input('login-password').value = '';
  if ('mfaToken' in result) {
    mfaToken = result.mfaToken;
    showMfaStep(true);
  }
});

onSubmit('mfa-form', async () => {
  if (!mfaToken) return;
  try {
    await auth.verifyMfa(mfaToken, input('mfa-code').value.trim());
    mfaToken = null;
  } catch (error) {
    // An expired or spent challenge cannot take another code: back to the password.
    if (error instanceof ApiError && error.code === 'UNAUTHENTICATED') {
      mfaToken = null;
      showMfaStep(false);
    }
    throw error;
  }
});

el('mfa-cancel').addEventListener('click', () => {
  mfaToken = null;
  showMfaStep(false);
});

onClick('mfa-start', async () => {
  renderMfaSetup(await auth.enableMfa());
});

onSubmit('mfa-confirm-form', async () => {
  renderRecoveryCodes(await auth.confirmMfa(input('mfa-confirm-code').value.trim()));
});

async function loadSessions(): Promise<void> {
  renderSessions(await auth.sessions(), (session, button) => {
    void busy(button, async () => {
      await auth.revokeSession(session.id);
      await loadSessions();
      el('sessions-message').textContent = `Session ended. ${el('sessions-message').textContent}`;
    });
  });
}

onClick('sessions-reload', loadSessions);

onClick('sessions-revoke-others', async () => {
  const ended = await auth.revokeOtherSessions();
  await loadSessions();
  el('sessions-message').textContent =
    `${ended === 1 ? '1 other session' : `${ended} other sessions`} ended. ${el('sessions-message').textContent}`;
});

onClick('logout', auth.logout);

void (async () => {
  try {
    await restore();
  } catch (error) {
    showSignedOut();
    notify((error as Error).message);
    return;
  }
  if (!currentAuth()) showSignedOut();
})();
