/* eslint-disable */
import * as types from './graphql';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "fragment AccountFields on Account {\n  id\n  email\n  firstName\n  lastName\n  mfaEnabled\n}\n\nfragment SignedIn on AuthPayload {\n  accessToken\n  accessTokenExpiresAt\n  account {\n    ...AccountFields\n  }\n  session {\n    id\n  }\n}\n\nmutation Register($input: RegisterInput!) {\n  register(input: $input) {\n    ...SignedIn\n  }\n}\n\nmutation Login($input: LoginInput!) {\n  login(input: $input) {\n    __typename\n    ... on AuthPayload {\n      ...SignedIn\n    }\n    ... on MfaChallenge {\n      mfaToken\n      expiresAt\n    }\n  }\n}\n\nmutation VerifyMfa($mfaToken: String!, $code: String!) {\n  verifyMfa(mfaToken: $mfaToken, code: $code) {\n    ...SignedIn\n  }\n}\n\nmutation RefreshToken {\n  refreshToken {\n    ...SignedIn\n  }\n}\n\nmutation Logout {\n  logout\n}\n\nquery Me {\n  me {\n    ...AccountFields\n  }\n}\n\nquery Sessions {\n  sessions {\n    id\n    createdAt\n    lastActiveAt\n    ipAddress\n    userAgent\n    current\n    mfaVerified\n  }\n}\n\nmutation RevokeSession($id: UUID!) {\n  revokeSession(id: $id)\n}\n\nmutation RevokeOtherSessions {\n  revokeOtherSessions\n}\n\nmutation Reauthenticate($password: String!, $code: String) {\n  reauthenticate(password: $password, code: $code)\n}\n\nmutation EnableMfa {\n  enableMfa {\n    secret\n    otpauthUri\n    qrCodeSvg\n  }\n}\n\nmutation ConfirmMfa($code: String!) {\n  confirmMfa(code: $code) {\n    codes\n  }\n}": typeof types.AccountFieldsFragmentDoc,
};
const documents: Documents = {
    "fragment AccountFields on Account {\n  id\n  email\n  firstName\n  lastName\n  mfaEnabled\n}\n\nfragment SignedIn on AuthPayload {\n  accessToken\n  accessTokenExpiresAt\n  account {\n    ...AccountFields\n  }\n  session {\n    id\n  }\n}\n\nmutation Register($input: RegisterInput!) {\n  register(input: $input) {\n    ...SignedIn\n  }\n}\n\nmutation Login($input: LoginInput!) {\n  login(input: $input) {\n    __typename\n    ... on AuthPayload {\n      ...SignedIn\n    }\n    ... on MfaChallenge {\n      mfaToken\n      expiresAt\n    }\n  }\n}\n\nmutation VerifyMfa($mfaToken: String!, $code: String!) {\n  verifyMfa(mfaToken: $mfaToken, code: $code) {\n    ...SignedIn\n  }\n}\n\nmutation RefreshToken {\n  refreshToken {\n    ...SignedIn\n  }\n}\n\nmutation Logout {\n  logout\n}\n\nquery Me {\n  me {\n    ...AccountFields\n  }\n}\n\nquery Sessions {\n  sessions {\n    id\n    createdAt\n    lastActiveAt\n    ipAddress\n    userAgent\n    current\n    mfaVerified\n  }\n}\n\nmutation RevokeSession($id: UUID!) {\n  revokeSession(id: $id)\n}\n\nmutation RevokeOtherSessions {\n  revokeOtherSessions\n}\n\nmutation Reauthenticate($password: String!, $code: String) {\n  reauthenticate(password: $password, code: $code)\n}\n\nmutation EnableMfa {\n  enableMfa {\n    secret\n    otpauthUri\n    qrCodeSvg\n  }\n}\n\nmutation ConfirmMfa($code: String!) {\n  confirmMfa(code: $code) {\n    codes\n  }\n}": types.AccountFieldsFragmentDoc,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "fragment AccountFields on Account {\n  id\n  email\n  firstName\n  lastName\n  mfaEnabled\n}\n\nfragment SignedIn on AuthPayload {\n  accessToken\n  accessTokenExpiresAt\n  account {\n    ...AccountFields\n  }\n  session {\n    id\n  }\n}\n\nmutation Register($input: RegisterInput!) {\n  register(input: $input) {\n    ...SignedIn\n  }\n}\n\nmutation Login($input: LoginInput!) {\n  login(input: $input) {\n    __typename\n    ... on AuthPayload {\n      ...SignedIn\n    }\n    ... on MfaChallenge {\n      mfaToken\n      expiresAt\n    }\n  }\n}\n\nmutation VerifyMfa($mfaToken: String!, $code: String!) {\n  verifyMfa(mfaToken: $mfaToken, code: $code) {\n    ...SignedIn\n  }\n}\n\nmutation RefreshToken {\n  refreshToken {\n    ...SignedIn\n  }\n}\n\nmutation Logout {\n  logout\n}\n\nquery Me {\n  me {\n    ...AccountFields\n  }\n}\n\nquery Sessions {\n  sessions {\n    id\n    createdAt\n    lastActiveAt\n    ipAddress\n    userAgent\n    current\n    mfaVerified\n  }\n}\n\nmutation RevokeSession($id: UUID!) {\n  revokeSession(id: $id)\n}\n\nmutation RevokeOtherSessions {\n  revokeOtherSessions\n}\n\nmutation Reauthenticate($password: String!, $code: String) {\n  reauthenticate(password: $password, code: $code)\n}\n\nmutation EnableMfa {\n  enableMfa {\n    secret\n    otpauthUri\n    qrCodeSvg\n  }\n}\n\nmutation ConfirmMfa($code: String!) {\n  confirmMfa(code: $code) {\n    codes\n  }\n}"): (typeof documents)["fragment AccountFields on Account {\n  id\n  email\n  firstName\n  lastName\n  mfaEnabled\n}\n\nfragment SignedIn on AuthPayload {\n  accessToken\n  accessTokenExpiresAt\n  account {\n    ...AccountFields\n  }\n  session {\n    id\n  }\n}\n\nmutation Register($input: RegisterInput!) {\n  register(input: $input) {\n    ...SignedIn\n  }\n}\n\nmutation Login($input: LoginInput!) {\n  login(input: $input) {\n    __typename\n    ... on AuthPayload {\n      ...SignedIn\n    }\n    ... on MfaChallenge {\n      mfaToken\n      expiresAt\n    }\n  }\n}\n\nmutation VerifyMfa($mfaToken: String!, $code: String!) {\n  verifyMfa(mfaToken: $mfaToken, code: $code) {\n    ...SignedIn\n  }\n}\n\nmutation RefreshToken {\n  refreshToken {\n    ...SignedIn\n  }\n}\n\nmutation Logout {\n  logout\n}\n\nquery Me {\n  me {\n    ...AccountFields\n  }\n}\n\nquery Sessions {\n  sessions {\n    id\n    createdAt\n    lastActiveAt\n    ipAddress\n    userAgent\n    current\n    mfaVerified\n  }\n}\n\nmutation RevokeSession($id: UUID!) {\n  revokeSession(id: $id)\n}\n\nmutation RevokeOtherSessions {\n  revokeOtherSessions\n}\n\nmutation Reauthenticate($password: String!, $code: String) {\n  reauthenticate(password: $password, code: $code)\n}\n\nmutation EnableMfa {\n  enableMfa {\n    secret\n    otpauthUri\n    qrCodeSvg\n  }\n}\n\nmutation ConfirmMfa($code: String!) {\n  confirmMfa(code: $code) {\n    codes\n  }\n}"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;