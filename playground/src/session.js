// In-memory session for the playground. The access token is never written to
// localStorage or any other persistent storage: it lives in this module only.

let token = null;
let email = null;
let restoring = false;
const listeners = new Set();
let snapshot = { token, email, restoring };

function emit() {
  snapshot = { token, email, restoring };
  for (const listener of listeners) listener();
}

export function subscribe(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function getSnapshot() {
  return snapshot;
}

export function getToken() {
  return token;
}

export function setSession(newToken, newEmail) {
  token = newToken;
  email = newEmail || null;
  emit();
}

export function clearSession() {
  if (token === null && email === null) return;
  token = null;
  email = null;
  emit();
}

export function setRestoring(value) {
  restoring = value;
  emit();
}
