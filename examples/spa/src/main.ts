import { ApiError, currentAuth, onAuthChange, restore, setReauthPrompt } from './api';
import * as auth from './auth';
import {
  busy,
  describe,
  el,
  input,
  notify,
  promptPasskeyName,
  promptReauth,
  renderAccount,
  renderMfaSetup,
  renderPasskeys,
  renderRecoveryCodes,
  renderSessions,
  showMfaStep,
  showSignedIn,
  showSignedOut,
} from './ui';
import { passkeysSupported } from './webauthn';

let mfaStep: auth.MfaStep | null = null;

setReauthPrompt(promptReauth);

// Signed in or out here, in another tab, or by a refused refresh.
onAuthChange((state, change) => {
  if (state) {
    if (el('signed-in').hidden || change === 'signed-in') {
      showSignedIn(state);
      void loadPasskeys().catch((error) => notify(describe(error)));
    } else {
      renderAccount(state.account);
    }
    return;
  }
  mfaStep = null;
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
  if ('mfa' in result) {
    mfaStep = result.mfa;
    showMfaStep(mfaStep);
  }
});

onClick('passkey-login-button', async () => {
  await auth.loginWithPasskey();
});

/** The second step, by code or by passkey. */
async function verify(task: (step: auth.MfaStep) => Promise<unknown>): Promise<void> {
  if (!mfaStep) return;
  try {
    await task(mfaStep);
    mfaStep = null;
  } catch (error) {
    // An expired or spent challenge cannot take another try: back to the password.
    if (error instanceof ApiError && error.code === 'UNAUTHENTICATED') {
      mfaStep = null;
      showMfaStep(null);
    }
    throw error;
  }
}

onSubmit('mfa-form', () => verify((step) => auth.verifyMfa(step.mfaToken, input('mfa-code').value.trim())));

// The button is inside the form, so `busy` on the form keeps the code from being sent meanwhile.
el('mfa-passkey').addEventListener('click', () => {
  void busy(el('mfa-form'), () => verify(auth.verifyMfaPasskey));
});

el('mfa-cancel').addEventListener('click', () => {
  mfaStep = null;
  showMfaStep(null);
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

async function loadPasskeys(): Promise<void> {
  const passkeys = await auth.passkeys();
  // Signed out meanwhile: nothing to show.
  if (!currentAuth()) return;
  renderPasskeys(passkeys, (passkey, button) => {
    void busy(button, async () => {
      await auth.removePasskey(passkey.id);
      await loadPasskeys();
      el('passkeys-message').textContent = `Passkey “${passkey.name}” removed. ${el('passkeys-message').textContent}`;
    });
  });
}

el('passkey-add').hidden = !passkeysSupported();

onClick('passkey-add', async () => {
  const name = await promptPasskeyName();
  if (name === null) return;
  await auth.addPasskey(name);
  await loadPasskeys();
  el('passkeys-message').textContent = `Passkey “${name}” added. ${el('passkeys-message').textContent}`;
});

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
