import {
  clearSession,
  getToken,
  setRestoring,
  setSession,
} from './session.js';

const ENDPOINT = '/graphql';

function hasHeader(headers, name) {
  const lower = name.toLowerCase();
  return Object.keys(headers).some((key) => key.toLowerCase() === lower);
}

export async function post(body, extraHeaders) {
  const headers = { ...(extraHeaders || {}) };
  if (!hasHeader(headers, 'content-type')) headers['Content-Type'] = 'application/json';
  if (!hasHeader(headers, 'accept')) headers.Accept = 'application/json';
  const current = getToken();
  // A header typed into the headers editor wins over the captured token.
  if (current && !hasHeader(headers, 'authorization')) {
    headers.Authorization = `Bearer ${current}`;
  }
  const response = await fetch(ENDPOINT, {
    method: 'POST',
    headers,
    body: JSON.stringify(body),
    credentials: 'same-origin',
  });
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(
      `The server answered ${response.status} ${response.statusText} with a body that is not JSON:\n${text.slice(0, 2000)}`,
    );
  }
}

function isObject(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

// Inspect a GraphQL result and update the in-memory session accordingly.
export function captureSession(query, result) {
  if (!isObject(result)) return;
  const data = isObject(result.data) ? result.data : null;

  if (data) {
    const mentionsLogout = typeof query === 'string' && /\blogout\b/.test(query);
    let loggedOut = false;
    for (const [key, value] of Object.entries(data)) {
      if (isObject(value) && typeof value.accessToken === 'string' && value.accessToken) {
        const account = isObject(value.account) ? value.account : null;
        const email = account && typeof account.email === 'string' ? account.email : null;
        setSession(value.accessToken, email);
      } else if (key === 'logout' || (mentionsLogout && value === true)) {
        loggedOut = true;
      }
    }
    if (loggedOut) clearSession();
  }

  if (getToken() && Array.isArray(result.errors)) {
    const unauthenticated = result.errors.some(
      (error) => isObject(error) && isObject(error.extensions) && error.extensions.code === 'UNAUTHENTICATED',
    );
    if (unauthenticated) clearSession();
  }
}

// Fetcher handed to GraphiQL: same-origin POST with the captured bearer token.
export async function fetcher(graphQLParams, opts) {
  const result = await post(graphQLParams, opts && opts.headers);
  captureSession(graphQLParams && graphQLParams.query, result);
  return result;
}

const RESTORE_QUERY =
  'mutation PlaygroundRestore { refreshToken { accessToken account { email } } }';

// Try once, silently, to turn the HttpOnly refresh cookie into an access token.
export async function restoreSession() {
  setRestoring(true);
  try {
    const result = await post({ query: RESTORE_QUERY, operationName: 'PlaygroundRestore' });
    const payload = isObject(result) && isObject(result.data) ? result.data.refreshToken : null;
    if (!getToken() && isObject(payload) && typeof payload.accessToken === 'string' && payload.accessToken) {
      const account = isObject(payload.account) ? payload.account : null;
      setSession(payload.accessToken, account && typeof account.email === 'string' ? account.email : null);
    }
  } catch {
    // No session to restore: stay "Not signed in".
  } finally {
    setRestoring(false);
  }
}
