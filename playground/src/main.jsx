import React, { useState, useSyncExternalStore } from 'react';
import { createRoot } from 'react-dom/client';
import { GraphiQL } from 'graphiql';
import 'graphiql/graphiql.css';
import './playground.css';

import { DEFAULT_QUERY } from './defaultQuery.js';
import { fetcher, restoreSession } from './fetcher.js';
import { PasskeyProblem, addPasskey, passkeysSupported, signInWithPasskey } from './passkeys.js';
import { clearSession, getSnapshot, subscribe } from './session.js';

// What a passkey action ended with: `{ kind: 'error' | 'done', text }`, or null.
function usePasskeyAction() {
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState(null);
  const start = async (task) => {
    setBusy(true);
    setOutcome(null);
    try {
      const text = await task();
      setOutcome(text ? { kind: 'done', text } : null);
    } catch (error) {
      const text =
        error instanceof PasskeyProblem ? error.message : `Something went wrong: ${(error && error.message) || error}`;
      setOutcome({ kind: 'error', text });
    } finally {
      setBusy(false);
    }
  };
  return { busy, outcome, start, dismiss: () => setOutcome(null) };
}

function SessionBar() {
  const { token, email, restoring } = useSyncExternalStore(subscribe, getSnapshot);
  const passkey = usePasskeyAction();
  const canPasskey = passkeysSupported();
  const onSignIn = () => passkey.start(async () => {
    await signInWithPasskey();
    return null;
  });
  const onAdd = () => passkey.start(async () => {
    const name = window.prompt('Name this passkey (for example, the device that holds it):', '');
    if (name === null || !name.trim()) return null;
    const added = await addPasskey(name.trim());
    return `Passkey "${added.name}" added.`;
  });
  let status;
  if (token) {
    status = email ? (
      <>
        Signed in as <strong className="pg-email">{email}</strong>
      </>
    ) : (
      'Signed in'
    );
  } else if (restoring) {
    status = 'Checking session…';
  } else {
    status = 'Not signed in';
  }
  return (
    <header className="pg-bar">
      <span className="pg-title">Custodian</span>
      <span className="pg-status" data-testid="session-status" role="status" aria-live="polite">
        {status}
      </span>
      {passkey.outcome ? (
        <span
          className={passkey.outcome.kind === 'error' ? 'pg-message pg-error' : 'pg-message'}
          role={passkey.outcome.kind === 'error' ? 'alert' : 'status'}
          title={passkey.outcome.text}
        >
          {passkey.outcome.text}
          <button type="button" className="pg-dismiss" onClick={passkey.dismiss} aria-label="Dismiss">
            ×
          </button>
        </span>
      ) : null}
      {canPasskey && !token && !restoring ? (
        <button
          type="button"
          className="pg-signout"
          onClick={onSignIn}
          disabled={passkey.busy}
          title="startPasskeyLogin, then this browser's passkey prompt, then finishPasskeyLogin"
        >
          Sign in with a passkey
        </button>
      ) : null}
      {canPasskey && token ? (
        <button
          type="button"
          className="pg-signout"
          onClick={onAdd}
          disabled={passkey.busy}
          title="startPasskeyRegistration, then this browser's prompt to make a passkey, then finishPasskeyRegistration (needs a recent reauthenticate)"
        >
          Add a passkey
        </button>
      ) : null}
      {token ? (
        <button
          type="button"
          className="pg-signout"
          onClick={clearSession}
          title="Forget the access token held by this page (the server session is not touched)"
        >
          Sign out of playground
        </button>
      ) : null}
    </header>
  );
}

function App() {
  return (
    <div className="pg-root">
      <SessionBar />
      <div className="pg-graphiql">
        <GraphiQL fetcher={fetcher} defaultQuery={DEFAULT_QUERY} />
      </div>
    </div>
  );
}

function start() {
  const container = document.getElementById('playground');
  createRoot(container).render(<App />);
  restoreSession();
}

if (document.readyState === 'loading') {
  document.addEventListener('DOMContentLoaded', start, { once: true });
} else {
  start();
}
