// The account operations the page offers, typed by the generated documents.

import { ApiError, SessionEnded, anonymous, authed, signedIn, signedOut, updateAccount, type Auth } from './api';
import {
  ConfirmMfaDocument,
  EnableMfaDocument,
  FinishPasskeyLoginDocument,
  FinishPasskeyRegistrationDocument,
  LoginDocument,
  LogoutDocument,
  MeDocument,
  PasskeysDocument,
  RegisterDocument,
  RemovePasskeyDocument,
  RevokeOtherSessionsDocument,
  RevokeSessionDocument,
  SessionsDocument,
  StartPasskeyLoginDocument,
  StartPasskeyRegistrationDocument,
  VerifyMfaDocument,
  VerifyMfaPasskeyDocument,
  type EnableMfaMutation,
  type PasskeysQuery,
  type RegisterInput,
  type SessionsQuery,
} from './gql/graphql';
import { createPasskey, usePasskey } from './webauthn';

export type Session = SessionsQuery['sessions'][number];
export type MfaSetup = EnableMfaMutation['enableMfa'];
export type Passkey = PasskeysQuery['passkeys'][number];

/** The second step of a sign-in: a code, or a passkey when `passkeyOptions` is set. */
export interface MfaStep {
  mfaToken: string;
  /** The second factors the account has: `passkey` among them when it holds one. */
  methods: string[];
  /** WebAuthn request options for `verifyMfaPasskey`; null when no passkey can be used. */
  passkeyOptions: unknown;
}

export async function register(input: RegisterInput): Promise<Auth> {
  const data = await anonymous(RegisterDocument, { input });
  return signedIn(data.register);
}

/** Signs in, or answers the second step: a code for `verifyMfa`, or a passkey. */
export async function login(email: string, password: string): Promise<{ auth: Auth } | { mfa: MfaStep }> {
  const data = await anonymous(LoginDocument, { input: { email, password } });
  const result = data.login;
  if (result.__typename === 'MfaChallenge') {
    return {
      mfa: { mfaToken: result.mfaToken, methods: result.methods, passkeyOptions: result.passkeyOptions ?? null },
    };
  }
  return { auth: signedIn(result) };
}

export async function verifyMfa(mfaToken: string, code: string): Promise<Auth> {
  const data = await anonymous(VerifyMfaDocument, { mfaToken, code });
  return signedIn(data.verifyMfa);
}

/** The second step with a passkey: the browser signs the challenge `login` answered. */
export async function verifyMfaPasskey(step: MfaStep): Promise<Auth> {
  const credential = await usePasskey(step.passkeyOptions);
  const data = await anonymous(VerifyMfaPasskeyDocument, { mfaToken: step.mfaToken, credential });
  return signedIn(data.verifyMfaPasskey);
}

/**
 * Signs in with a passkey alone: no email, no password. The browser offers the passkeys it
 * holds for this site, and the one chosen says whose account it is.
 */
export async function loginWithPasskey(): Promise<Auth> {
  const start = await anonymous(StartPasskeyLoginDocument, {});
  const { challengeId, options } = start.startPasskeyLogin;
  const credential = await usePasskey(options);
  try {
    const data = await anonymous(FinishPasskeyLoginDocument, { challengeId, credential });
    return signedIn(data.finishPasskeyLogin);
  } catch (error) {
    // Custodian refuses an unknown passkey in the words it uses for a wrong password, but
    // nobody typed an email here.
    if (error instanceof ApiError && error.code === 'UNAUTHENTICATED') throw new ApiError(PASSKEY_REFUSED, error.code);
    throw error;
  }
}

const PASSKEY_REFUSED =
  'That passkey did not sign you in: it belongs to no account here (it may have been removed), or the sign-in took too long. Try again, or use your email and password.';

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

export async function passkeys(): Promise<Passkey[]> {
  const data = await authed(PasskeysDocument, {});
  return data.passkeys;
}

/**
 * Makes a passkey on this device and adds it to the account under `name`. Custodian asks for a
 * recent re-authentication first (the password prompt, as for MFA).
 */
export async function addPasskey(name: string): Promise<void> {
  const start = await authed(StartPasskeyRegistrationDocument, {});
  const credential = await createPasskey(start.startPasskeyRegistration);
  await authed(FinishPasskeyRegistrationDocument, { name, credential });
}

export async function removePasskey(id: string): Promise<boolean> {
  const data = await authed(RemovePasskeyDocument, { id });
  return data.removePasskey;
}
