// The account operations the page offers, typed by the generated documents.

import { SessionEnded, anonymous, authed, signedIn, signedOut, updateAccount, type Auth } from './api';
import {
  ConfirmMfaDocument,
  EnableMfaDocument,
  LoginDocument,
  LogoutDocument,
  MeDocument,
  RegisterDocument,
  RevokeOtherSessionsDocument,
  RevokeSessionDocument,
  SessionsDocument,
  VerifyMfaDocument,
  type EnableMfaMutation,
  type RegisterInput,
  type SessionsQuery,
} from './gql/graphql';

export type Session = SessionsQuery['sessions'][number];
export type MfaSetup = EnableMfaMutation['enableMfa'];

export async function register(input: RegisterInput): Promise<Auth> {
  const data = await anonymous(RegisterDocument, { input });
  return signedIn(data.register);
}

/** Signs in, or answers the MFA token to send with a code to `verifyMfa`. */
export async function login(
  email: string,
  password: string,
): Promise<{ auth: Auth } | { mfaToken: string }> {
  const data = await anonymous(LoginDocument, { input: { email, password } });
  const result = data.login;
  if (result.__typename === 'MfaChallenge') return { mfaToken: result.mfaToken };
  return { auth: signedIn(result) };
}

export async function verifyMfa(mfaToken: string, code: string): Promise<Auth> {
  const data = await anonymous(VerifyMfaDocument, { mfaToken, code });
  return signedIn(data.verifyMfa);
}

/**
 * Ends this session and signs every tab out. A session that had already ended signs out too;
 * any other failure (Custodian unreachable) leaves the page signed in, since the session is.
 */
export async function logout(): Promise<void> {
  try {
    await authed(LogoutDocument, {});
  } catch (error) {
    if (!(error instanceof SessionEnded)) throw error;
  }
  signedOut('signed-out');
}

export async function me(): Promise<void> {
  const data = await authed(MeDocument, {});
  updateAccount(data.me);
}

export async function enableMfa(): Promise<MfaSetup> {
  const data = await authed(EnableMfaDocument, {});
  return data.enableMfa;
}

/** Turns MFA on; answers the recovery codes, shown once. */
export async function confirmMfa(code: string): Promise<string[]> {
  const data = await authed(ConfirmMfaDocument, { code });
  await me();
  return data.confirmMfa.codes;
}

export async function sessions(): Promise<Session[]> {
  const data = await authed(SessionsDocument, {});
  return data.sessions;
}

export async function revokeSession(id: string): Promise<boolean> {
  const data = await authed(RevokeSessionDocument, { id });
  return data.revokeSession;
}

export async function revokeOtherSessions(): Promise<number> {
  const data = await authed(RevokeOtherSessionsDocument, {});
  return data.revokeOtherSessions;
}
