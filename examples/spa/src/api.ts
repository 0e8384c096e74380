// Transport to Custodian and the signed-in state.
//
// - Requests are `POST /graphql` on Custodian's origin with `credentials: 'include'`, carrying
//   the operation's `documentId` (and its text unless built with VITE_SEND_QUERY=false).
// - The access token lives in this module's memory only. The refresh token is Custodian's
//   HttpOnly cookie: this code never sees it.
// - On `UNAUTHENTICATED` an operation refreshes once and retries once. Tabs share one refresh:
//   it runs under a Web Lock, and the tab that ran it hands the new token to the others over a
//   BroadcastChannel, so the rotating refresh token is spent once however many tabs need it.
// - On `REAUTHENTICATION_REQUIRED` an operation asks for the password (and code), calls
//   `reauthenticate`, and retries once.

import type { TypedDocumentNode } from '@graphql-typed-document-node/core';

import manifest from '../persisted-documents.json';
import { CUSTODIAN_URL, SEND_QUERY } from './config';
import {
  ReauthenticateDocument,
  RefreshTokenDocument,
  type AccountFieldsFragment,
  type SignedInFragment,
} from './gql/graphql';

export type Account = AccountFieldsFragment;

export interface Auth {
  accessToken: string;
  accessTokenExpiresAt: string;
  account: Account;
  sessionId: string;
}

/** Why the signed-in state changed. */
export type Change = 'signed-in' | 'refreshed' | 'signed-out' | 'ended';

/** A GraphQL or HTTP error as Custodian reports it (`extensions.code` and friends). */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly reason?: string,
    readonly field?: string,
    readonly retryAfter?: number,
  ) {
    super(message);
  }
}

/** The session is over (refresh refused): sign in again. */
export class SessionEnded extends ApiError {
  constructor() {
    super('Your session has ended. Sign in again.', 'SESSION_ENDED');
  }
}

/** The person closed the re-authentication prompt. */
export class Cancelled extends Error {
  constructor() {
    super('Cancelled.');
  }
}

export interface ReauthAnswer {
  password: string;
  code?: string;
}

/** Asks for the password (and code when MFA is on); `null` when the person cancels. */
export type ReauthPrompt = (account: Account | null, error?: ApiError) => Promise<ReauthAnswer | null>;

type Message =
  | { type: 'hello' }
  | { type: 'refreshing' }
  | { type: 'refresh-failed' }
  | { type: 'auth'; auth: Auth; change: 'signed-in' | 'refreshed' }
  | { type: 'signed-out'; change: 'signed-out' | 'ended' };

const LOCK_NAME = 'custodian-refresh';
const PEER_ANSWER_MS = 150;
const PEER_REFRESH_WAIT_MS = 3000;

let auth: Auth | null = null;
let reauthPrompt: ReauthPrompt | null = null;
const listeners = new Set<(auth: Auth | null, change: Change) => void>();

// Another tab announced a refresh and has not reported its outcome yet.
let peerRefreshing = false;
let peerSettled: Array<() => void> = [];

const channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel('custodian-auth') : null;

function post(message: Message): void {
  channel?.postMessage(message);
}

function settlePeer(): void {
  peerRefreshing = false;
  const waiting = peerSettled;
  peerSettled = [];
  waiting.forEach((wake) => wake());
}

channel?.addEventListener('message', (event: MessageEvent<Message>) => {
  const message = event.data;
  switch (message.type) {
    case 'hello':
      if (auth) post({ type: 'auth', auth, change: 'refreshed' });
      break;
    case 'refreshing':
      peerRefreshing = true;
      break;
    case 'refresh-failed':
      settlePeer();
      break;
    case 'auth':
      adopt(message.auth, message.change, false);
      settlePeer();
      break;
    case 'signed-out':
      adopt(null, message.change, false);
      settlePeer();
      break;
  }
});

function adopt(next: Auth | null, change: Change, broadcast: boolean): void {
  auth = next;
  if (broadcast) {
    post(
      next
        ? { type: 'auth', auth: next, change: change === 'signed-in' ? 'signed-in' : 'refreshed' }
        : { type: 'signed-out', change: change === 'ended' ? 'ended' : 'signed-out' },
    );
  }
  listeners.forEach((listener) => listener(auth, change));
}

export function onAuthChange(listener: (auth: Auth | null, change: Change) => void): void {
  listeners.add(listener);
}

export function currentAuth(): Auth | null {
  return auth;
}

export function setReauthPrompt(prompt: ReauthPrompt): void {
  reauthPrompt = prompt;
}

/** Keeps the tokens of a successful sign-in (or refresh) and tells the other tabs. */
export function signedIn(payload: SignedInFragment, change: 'signed-in' | 'refreshed' = 'signed-in'): Auth {
  const next: Auth = {
    accessToken: payload.accessToken,
    accessTokenExpiresAt: payload.accessTokenExpiresAt,
    account: payload.account,
    sessionId: payload.session.id,
  };
  adopt(next, change, true);
  return next;
}

/** Forgets the access token here and in every other tab. */
export function signedOut(change: 'signed-out' | 'ended'): void {
  adopt(null, change, true);
}

/** Updates the account shown, keeping the tokens. */
export function updateAccount(account: Account): void {
  if (auth) adopt({ ...auth, account }, 'refreshed', false);
}

function documentIdOf(document: TypedDocumentNode<unknown, never>): string {
  return (document as unknown as { __meta__: { documentId: string } }).__meta__.documentId;
}

function toApiError(error: unknown, status: number): ApiError {
  const raw = (error ?? {}) as {
    message?: string;
    code?: string;
    field?: string;
    extensions?: { code?: string; reason?: string; field?: string; retryAfter?: number };
  };
  const extensions = raw.extensions ?? {};
  return new ApiError(
    raw.message || `Custodian answered ${status}.`,
    extensions.code ?? raw.code ?? 'ERROR',
    extensions.reason,
    extensions.field ?? raw.field,
    extensions.retryAfter,
  );
}

/** One request, no retries. */
async function send<R, V>(document: TypedDocumentNode<R, V>, variables: V, token: string | null): Promise<R> {
  const documentId = documentIdOf(document as TypedDocumentNode<unknown, never>);
  const body: Record<string, unknown> = { documentId, variables };
  if (SEND_QUERY) body.query = (manifest as Record<string, string>)[documentId];
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  let response: Response;
  try {
    response = await fetch(`${CUSTODIAN_URL}/graphql`, {
      method: 'POST',
      credentials: 'include',
      headers,
      body: JSON.stringify(body),
    });
  } catch {
    throw new ApiError('Custodian cannot be reached. Check your connection and try again.', 'NETWORK');
  }
  let payload: { data?: R | null; errors?: unknown[]; error?: unknown } | null = null;
  try {
    payload = await response.json();
  } catch {
    // Not JSON: reported below by status.
  }
  const error = payload?.errors?.[0] ?? payload?.error;
  if (error) throw toApiError(error, response.status);
  if (!response.ok || !payload?.data) {
    throw new ApiError(`Custodian answered ${response.status}.`, 'HTTP');
  }
  return payload.data;
}

/** For operations that need no session: register, login, verifyMfa. */
export function anonymous<R, V>(document: TypedDocumentNode<R, V>, variables: V): Promise<R> {
  return send(document, variables, null);
}

function withRefreshLock<T>(task: () => Promise<T>): Promise<T> {
  if (typeof navigator !== 'undefined' && 'locks' in navigator && navigator.locks) {
    return navigator.locks.request(LOCK_NAME, task);
  }
  // No Web Locks (an insecure context): still one refresh at a time within this tab.
  const run = localQueue.then(task, task);
  localQueue = run.catch(() => undefined);
  return run;
}
let localQueue: Promise<unknown> = Promise.resolve();

function waitForPeer(): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, PEER_REFRESH_WAIT_MS);
    peerSettled.push(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * A fresh access token for a caller whose token `stale` was refused (or `null`: none yet).
 * Only one tab refreshes at a time; one that waited behind another tab's refresh takes that
 * tab's result instead of spending the (already rotated) refresh cookie again.
 */
export function refresh(stale: string | null): Promise<Auth> {
  return withRefreshLock(async () => {
    if (auth && auth.accessToken !== stale) return auth;
    if (peerRefreshing) {
      await waitForPeer();
      if (auth && auth.accessToken !== stale) return auth;
    }
    post({ type: 'refreshing' });
    try {
      const data = await send(RefreshTokenDocument, {}, null);
      return signedIn(data.refreshToken, 'refreshed');
    } catch (error) {
      post({ type: 'refresh-failed' });
      if (error instanceof ApiError && error.code === 'UNAUTHENTICATED') throw new SessionEnded();
      throw error;
    }
  });
}

/**
 * At start: the access token from another open tab if one answers quickly, else from a
 * refresh (the cookie). `null` when there is no session.
 */
export async function restore(): Promise<Auth | null> {
  if (channel) {
    post({ type: 'hello' });
    await new Promise((resolve) => setTimeout(resolve, PEER_ANSWER_MS));
    if (auth) return auth;
  }
  try {
    return await refresh(null);
  } catch (error) {
    if (error instanceof SessionEnded) return null;
    throw error;
  }
}

/** Sends with the access token; on `UNAUTHENTICATED`, refreshes once and retries once. */
async function withSession<R, V>(document: TypedDocumentNode<R, V>, variables: V): Promise<R> {
  const stale = auth?.accessToken ?? null;
  try {
    return await send(document, variables, stale);
  } catch (error) {
    if (!(error instanceof ApiError && error.code === 'UNAUTHENTICATED')) throw error;
  }
  let fresh: Auth;
  try {
    fresh = await refresh(stale);
  } catch (error) {
    if (error instanceof SessionEnded && auth) signedOut('ended');
    throw error;
  }
  return send(document, variables, fresh.accessToken);
}

function needsReauthentication(error: unknown): boolean {
  return error instanceof ApiError && error.code === 'FORBIDDEN' && error.reason === 'REAUTHENTICATION_REQUIRED';
}

async function reauthenticate(): Promise<void> {
  if (!reauthPrompt) throw new Cancelled();
  let failure: ApiError | undefined;
  for (;;) {
    const answer = await reauthPrompt(auth?.account ?? null, failure);
    if (!answer) throw new Cancelled();
    try {
      await withSession(ReauthenticateDocument, { password: answer.password, code: answer.code || null });
      return;
    } catch (error) {
      if (error instanceof ApiError && error.code === 'BAD_USER_INPUT') {
        failure = error;
        continue;
      }
      throw error;
    }
  }
}

/**
 * For operations of the signed-in person: silent refresh on `UNAUTHENTICATED`, and the
 * password (+ code) prompt on `REAUTHENTICATION_REQUIRED`, each retried once.
 */
export async function authed<R, V>(document: TypedDocumentNode<R, V>, variables: V): Promise<R> {
  try {
    return await withSession(document, variables);
  } catch (error) {
    if (!needsReauthentication(error)) throw error;
  }
  await reauthenticate();
  return withSession(document, variables);
}
