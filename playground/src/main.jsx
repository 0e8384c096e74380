import React, { useSyncExternalStore } from 'react';
import { createRoot } from 'react-dom/client';
import { GraphiQL } from 'graphiql';
import 'graphiql/graphiql.css';
import './playground.css';

import { DEFAULT_QUERY } from './defaultQuery.js';
import { fetcher, restoreSession } from './fetcher.js';
import { clearSession, getSnapshot, subscribe } from './session.js';

function SessionBar() {
  const { token, email, restoring } = useSyncExternalStore(subscribe, getSnapshot);
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
    <header className="pg-bar" role="status" aria-live="polite">
      <span className="pg-title">Custodian</span>
      <span className="pg-status" data-testid="session-status">
        {status}
      </span>
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
