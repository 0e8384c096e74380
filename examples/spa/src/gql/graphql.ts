/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';
/** Email and password, the first step of a sign-in. */
export type LoginInput = {
  /** The account's email address; case and look-alike characters do not matter. */
  email: string;
  /** The account's password. */
  password: string;
};

/**
 * A new account: email, password and names, and optionally the finance profile. Every field
 * is checked; a bad one is `BAD_USER_INPUT` naming it, and nothing is written.
 */
export type RegisterInput = {
  /** Street address, 1–200 characters on one line. */
  address?: string | null | undefined;
  /** City or town, 1–100 characters. */
  city?: string | null | undefined;
  /** Country, ISO 3166-1 alpha-2 in any case (`US`). */
  country?: string | null | undefined;
  /**
   * Date of birth, `YYYY-MM-DD`: the person must be of the service's minimum age (18 by
   * default) and at most 120 years old.
   */
  dateOfBirth?: string | null | undefined;
  /** Preferred currency, an active ISO 4217 code in any case (`USD`). */
  defaultCurrency?: string | null | undefined;
  /**
   * The address to sign in with; a verification link is sent to it. Addresses are compared
   * in canonical form: one differing from a registered one only in case or look-alike
   * characters is taken (`CONFLICT` on `email`).
   */
  email: string;
  /** Given name, 1–100 characters: letters, marks, spaces, `'` `’` `-` `.`. */
  firstName: string;
  /** Family name, with the rules of `firstName`. */
  lastName: string;
  /**
   * 12–128 characters, any Unicode; refused when common or built from the person's own
   * names or email.
   */
  password: string;
  /** Phone number: E.164 (`+12015550123`), or national format when `country` is given. */
  phone?: string | null | undefined;
  /** Postal code, checked against the country's format (`94105`, `K1A 0B1`, `SW1A 1AA`). */
  postalCode?: string | null | undefined;
  /**
   * SSN, `123-45-6789` or `123456789`; stored encrypted, never returned. `CONFLICT` when
   * another account holds it.
   */
  ssn?: string | null | undefined;
  /**
   * State or province: required in the US and Canada, as a USPS or Canadian code (`NY`,
   * `ON`); free text elsewhere.
   */
  state?: string | null | undefined;
};

export type AccountFieldsFragment = { id: string, email: string, firstName: string, lastName: string, mfaEnabled: boolean };

export type SignedInFragment = { accessToken: string, accessTokenExpiresAt: string, account: { id: string, email: string, firstName: string, lastName: string, mfaEnabled: boolean }, session: { id: string } };

export type RegisterMutationVariables = Exact<{
  input: RegisterInput;
}>;


export type RegisterMutation = { register: { accessToken: string, accessTokenExpiresAt: string, account: { id: string, email: string, firstName: string, lastName: string, mfaEnabled: boolean }, session: { id: string } } };

export type LoginMutationVariables = Exact<{
  input: LoginInput;
}>;


export type LoginMutation = { login:
    | { __typename: 'AuthPayload', accessToken: string, accessTokenExpiresAt: string, account: { id: string, email: string, firstName: string, lastName: string, mfaEnabled: boolean }, session: { id: string } }
    | { __typename: 'MfaChallenge', mfaToken: string, expiresAt: string, methods: Array<string>, passkeyOptions: unknown }
   };

export type VerifyMfaMutationVariables = Exact<{
  mfaToken: string;
  code: string;
}>;


export type VerifyMfaMutation = { verifyMfa: { accessToken: string, accessTokenExpiresAt: string, account: { id: string, email: string, firstName: string, lastName: string, mfaEnabled: boolean }, session: { id: string } } };

export type RefreshTokenMutationVariables = Exact<{ [key: string]: never; }>;


export type RefreshTokenMutation = { refreshToken: { accessToken: string, accessTokenExpiresAt: string, account: { id: string, email: string, firstName: string, lastName: string, mfaEnabled: boolean }, session: { id: string } } };

export type LogoutMutationVariables = Exact<{ [key: string]: never; }>;


export type LogoutMutation = { logout: boolean };

export type MeQueryVariables = Exact<{ [key: string]: never; }>;


export type MeQuery = { me: { id: string, email: string, firstName: string, lastName: string, mfaEnabled: boolean } };

export type SessionsQueryVariables = Exact<{ [key: string]: never; }>;


export type SessionsQuery = { sessions: Array<{ id: string, createdAt: string, lastActiveAt: string, ipAddress: string | null, userAgent: string | null, current: boolean, mfaVerified: boolean }> };

export type RevokeSessionMutationVariables = Exact<{
  id: string;
}>;


export type RevokeSessionMutation = { revokeSession: boolean };

export type RevokeOtherSessionsMutationVariables = Exact<{ [key: string]: never; }>;


export type RevokeOtherSessionsMutation = { revokeOtherSessions: number };

export type ReauthenticateMutationVariables = Exact<{
  password: string;
  code?: string | null | undefined;
}>;


export type ReauthenticateMutation = { reauthenticate: boolean };

export type EnableMfaMutationVariables = Exact<{ [key: string]: never; }>;


export type EnableMfaMutation = { enableMfa: { secret: string, otpauthUri: string, qrCodeSvg: string } };

export type ConfirmMfaMutationVariables = Exact<{
  code: string;
}>;


export type ConfirmMfaMutation = { confirmMfa: { codes: Array<string> } };

export type PasskeysQueryVariables = Exact<{ [key: string]: never; }>;


export type PasskeysQuery = { passkeys: Array<{ id: string, name: string, createdAt: string, lastUsedAt: string | null, backedUp: boolean }> };

export type StartPasskeyRegistrationMutationVariables = Exact<{ [key: string]: never; }>;


export type StartPasskeyRegistrationMutation = { startPasskeyRegistration: unknown };

export type FinishPasskeyRegistrationMutationVariables = Exact<{
  name: string;
  credential: unknown;
}>;


export type FinishPasskeyRegistrationMutation = { finishPasskeyRegistration: { id: string, name: string } };

export type RemovePasskeyMutationVariables = Exact<{
  id: string;
}>;


export type RemovePasskeyMutation = { removePasskey: boolean };

export type StartPasskeyLoginMutationVariables = Exact<{ [key: string]: never; }>;


export type StartPasskeyLoginMutation = { startPasskeyLogin: { challengeId: string, options: unknown } };

export type FinishPasskeyLoginMutationVariables = Exact<{
  challengeId: string;
  credential: unknown;
}>;


export type FinishPasskeyLoginMutation = { finishPasskeyLogin: { accessToken: string, accessTokenExpiresAt: string, account: { id: string, email: string, firstName: string, lastName: string, mfaEnabled: boolean }, session: { id: string } } };

export type VerifyMfaPasskeyMutationVariables = Exact<{
  mfaToken: string;
  credential: unknown;
}>;


export type VerifyMfaPasskeyMutation = { verifyMfaPasskey: { accessToken: string, accessTokenExpiresAt: string, account: { id: string, email: string, firstName: string, lastName: string, mfaEnabled: boolean }, session: { id: string } } };

export const AccountFieldsFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"AccountFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Account"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"email"}},{"kind":"Field","name":{"kind":"Name","value":"firstName"}},{"kind":"Field","name":{"kind":"Name","value":"lastName"}},{"kind":"Field","name":{"kind":"Name","value":"mfaEnabled"}}]}}]} as unknown as DocumentNode<AccountFieldsFragment, unknown>;
export const SignedInFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"SignedIn"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"AuthPayload"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"accessToken"}},{"kind":"Field","name":{"kind":"Name","value":"accessTokenExpiresAt"}},{"kind":"Field","name":{"kind":"Name","value":"account"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"AccountFields"}}]}},{"kind":"Field","name":{"kind":"Name","value":"session"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"AccountFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Account"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"email"}},{"kind":"Field","name":{"kind":"Name","value":"firstName"}},{"kind":"Field","name":{"kind":"Name","value":"lastName"}},{"kind":"Field","name":{"kind":"Name","value":"mfaEnabled"}}]}}]} as unknown as DocumentNode<SignedInFragment, unknown>;
export const RegisterDocument = {"__meta__":{"documentId":"sha256:380dd44c6499f9fca9a47f1ed21f1cd0a9e4dd58888ad0fca67f053b3022bf8a"}} as unknown as DocumentNode<RegisterMutation, RegisterMutationVariables>;
export const LoginDocument = {"__meta__":{"documentId":"sha256:985b69fc65794e6c3a0f79858bf91e200351cf5624080b31c60db613e4ec069b"}} as unknown as DocumentNode<LoginMutation, LoginMutationVariables>;
export const VerifyMfaDocument = {"__meta__":{"documentId":"sha256:bc70806ee5b600434c540cdd6987781d35dc8779ed86c5f0c07e95139af8bbbb"}} as unknown as DocumentNode<VerifyMfaMutation, VerifyMfaMutationVariables>;
export const RefreshTokenDocument = {"__meta__":{"documentId":"sha256:ce97a7417e65a723ba7f95ce679797d57072944c4e0f0b79073c2778d3a05b23"}} as unknown as DocumentNode<RefreshTokenMutation, RefreshTokenMutationVariables>;
export const LogoutDocument = {"__meta__":{"documentId":"sha256:cb1d14c1cc99a25294cfa4376de2402364cb32e6c038a11fb36cf0ebb3a5ce91"}} as unknown as DocumentNode<LogoutMutation, LogoutMutationVariables>;
export const MeDocument = {"__meta__":{"documentId":"sha256:6b0398995cbc155892aecfc067cc262bd4f8d530241ab85a98156415bdf7b6a1"}} as unknown as DocumentNode<MeQuery, MeQueryVariables>;
export const SessionsDocument = {"__meta__":{"documentId":"sha256:48c8f52e5c6ffdd26693e160db4ced5e21237cff7d63a5c0de5c743eb7958ede"}} as unknown as DocumentNode<SessionsQuery, SessionsQueryVariables>;
export const RevokeSessionDocument = {"__meta__":{"documentId":"sha256:ec74a847eb04679a9e74a90ad9f6757002042731f843cbb89c08e83753ab3be7"}} as unknown as DocumentNode<RevokeSessionMutation, RevokeSessionMutationVariables>;
export const RevokeOtherSessionsDocument = {"__meta__":{"documentId":"sha256:9c1939f55fcd8c2aa1fb9b186b71b8b8494a4bc48a32f1c1d22c2488f8a5f742"}} as unknown as DocumentNode<RevokeOtherSessionsMutation, RevokeOtherSessionsMutationVariables>;
export const ReauthenticateDocument = {"__meta__":{"documentId":"sha256:cc6761fed078796bd36e60c96d6c66ed09bd94828a14dafaa423bde75ebfb13c"}} as unknown as DocumentNode<ReauthenticateMutation, ReauthenticateMutationVariables>;
export const EnableMfaDocument = {"__meta__":{"documentId":"sha256:1bdab2900583c89d02e49687f749acdf49501242d74cd15c953cf55e5df1f067"}} as unknown as DocumentNode<EnableMfaMutation, EnableMfaMutationVariables>;
export const ConfirmMfaDocument = {"__meta__":{"documentId":"sha256:0d80afa07328ade87de1bcbd7dceee4db77a19ecf70de5c17b26f6844a3dd60a"}} as unknown as DocumentNode<ConfirmMfaMutation, ConfirmMfaMutationVariables>;
export const PasskeysDocument = {"__meta__":{"documentId":"sha256:87c6d05e8122931bd9222ecd67e40cc270113cca0ac6ebb7d0a47bb913361310"}} as unknown as DocumentNode<PasskeysQuery, PasskeysQueryVariables>;
export const StartPasskeyRegistrationDocument = {"__meta__":{"documentId":"sha256:370c6692fd3705698266e97b7b4823a3225e436a94b1383130d3e07b63fd52b4"}} as unknown as DocumentNode<StartPasskeyRegistrationMutation, StartPasskeyRegistrationMutationVariables>;
export const FinishPasskeyRegistrationDocument = {"__meta__":{"documentId":"sha256:18e5f0dabc4f5ab6cef14f2a504c9795cafef70946461a13802e823ac620521b"}} as unknown as DocumentNode<FinishPasskeyRegistrationMutation, FinishPasskeyRegistrationMutationVariables>;
export const RemovePasskeyDocument = {"__meta__":{"documentId":"sha256:b6a5bacba8f2d25a2e590fbd7ed79c2e7542b24b059e532a1da14fe10cad032e"}} as unknown as DocumentNode<RemovePasskeyMutation, RemovePasskeyMutationVariables>;
export const StartPasskeyLoginDocument = {"__meta__":{"documentId":"sha256:1b0fc64e23b27ba578722553c960b4cdd59a1197b2ca601b1e921ae0b3b8e74e"}} as unknown as DocumentNode<StartPasskeyLoginMutation, StartPasskeyLoginMutationVariables>;
export const FinishPasskeyLoginDocument = {"__meta__":{"documentId":"sha256:c193f44eb813623079cbb055cc3aa35854655b239e2b768b32004f042d791f7c"}} as unknown as DocumentNode<FinishPasskeyLoginMutation, FinishPasskeyLoginMutationVariables>;
export const VerifyMfaPasskeyDocument = {"__meta__":{"documentId":"sha256:c2347a0f4334504b28dfc0d88d924af17f525cf7ffde23dd2ad5c798d3092ca8"}} as unknown as DocumentNode<VerifyMfaPasskeyMutation, VerifyMfaPasskeyMutationVariables>;