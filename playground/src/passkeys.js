// Passkeys from the session bar: sign in with one, or add one to the signed-in account.
// Custodian answers WebAuthn options as JSON (`{ publicKey: { … } }`, binary fields base64url
// without padding) and takes the credential back as `PublicKeyCredential.toJSON()` makes it.
// Browsers without the JSON helpers get the same conversions by hand.

import { captureSession, post } from './fetcher.js';

const START_LOGIN = 'mutation PlaygroundStartPasskeyLogin { startPasskeyLogin { challengeId options } }';
const FINISH_LOGIN = `mutation PlaygroundFinishPasskeyLogin($challengeId: UUID!, $credential: JSON!) {
  finishPasskeyLogin(challengeId: $challengeId, credential: $credential) { accessToken account { email } }
}`;
const START_REGISTRATION = 'mutation PlaygroundStartPasskeyRegistration { startPasskeyRegistration }';
const FINISH_REGISTRATION = `mutation PlaygroundFinishPasskeyRegistration($name: String!, $credential: JSON!) {
  finishPasskeyRegistration(name: $name, credential: $credential) { id name }
}`;

/** A failure to show in the session bar as it is. */
export class PasskeyProblem extends Error {}

export function passkeysSupported() {
  return typeof window.PublicKeyCredential === 'function' && !!navigator.credentials;
}

function fromBase64url(text) {
  const base64 = String(text).replace(/-/g, '+').replace(/_/g, '/');
  const binary = atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, '='));
  return Uint8Array.from(binary, (char) => char.charCodeAt(0)).buffer;
}

function toBase64url(buffer) {
  let binary = '';
  for (const byte of new Uint8Array(buffer)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function publicKeyOf(options) {
  const publicKey = options && typeof options === 'object' ? options.publicKey : null;
  if (!publicKey || typeof publicKey !== 'object') {
    throw new PasskeyProblem('The server answered passkey options this page cannot read.');
  }
  return publicKey;
}

function descriptors(list) {
  return Array.isArray(list) ? list.map((item) => ({ ...item, id: fromBase64url(item.id) })) : undefined;
}

function creationOptions(options) {
  const json = publicKeyOf(options);
  if (typeof PublicKeyCredential.parseCreationOptionsFromJSON === 'function') {
    return PublicKeyCredential.parseCreationOptionsFromJSON(json);
  }
  return {
    ...json,
    challenge: fromBase64url(json.challenge),
    user: { ...json.user, id: fromBase64url(json.user.id) },
    excludeCredentials: descriptors(json.excludeCredentials),
  };
}

function requestOptions(options) {
  const json = publicKeyOf(options);
  if (typeof PublicKeyCredential.parseRequestOptionsFromJSON === 'function') {
    return PublicKeyCredential.parseRequestOptionsFromJSON(json);
  }
  return {
    ...json,
    challenge: fromBase64url(json.challenge),
    allowCredentials: descriptors(json.allowCredentials),
  };
}

function credentialJson(credential) {
  if (typeof credential.toJSON === 'function') return credential.toJSON();
  const { response } = credential;
  const common = {
    id: credential.id,
    rawId: toBase64url(credential.rawId),
    type: credential.type,
    authenticatorAttachment: credential.authenticatorAttachment || undefined,
    clientExtensionResults: credential.getClientExtensionResults(),
  };
  if ('attestationObject' in response) {
    return {
      ...common,
      response: {
        clientDataJSON: toBase64url(response.clientDataJSON),
        attestationObject: toBase64url(response.attestationObject),
        transports: typeof response.getTransports === 'function' ? response.getTransports() : [],
      },
    };
  }
  return {
    ...common,
    response: {
      clientDataJSON: toBase64url(response.clientDataJSON),
      authenticatorData: toBase64url(response.authenticatorData),
      signature: toBase64url(response.signature),
      userHandle: response.userHandle ? toBase64url(response.userHandle) : null,
    },
  };
}

function browserProblem(error) {
  switch (error && error.name) {
    case 'NotAllowedError':
    case 'AbortError':
      return new PasskeyProblem('No passkey was used: the request was cancelled or timed out.');
    case 'InvalidStateError':
      return new PasskeyProblem('This device already holds a passkey for this account.');
    case 'SecurityError':
      return new PasskeyProblem(
        "Passkeys do not work at this page's address: open the playground at a host named by CUSTODIAN_WEBAUTHN_RP_ID and listed in CUSTODIAN_WEBAUTHN_ORIGINS.",
      );
    default:
      return new PasskeyProblem(`The browser could not use a passkey: ${(error && error.message) || error}`);
  }
}

/** Runs one operation; the server's first error message, as it is, as a problem. */
async function run(query, variables) {
  const result = await post({ query, variables });
  // As for the editor's operations: a token in the answer is held, a refused one forgotten.
  captureSession(query, result);
  const error = result && Array.isArray(result.errors) ? result.errors[0] : null;
  if (error) {
    // Such as a re-authentication being needed: the message says to call reauthenticate,
    // which the editor can do.
    throw new PasskeyProblem((error && error.message) || 'The server refused.');
  }
  return result;
}

/** startPasskeyLogin, the browser's passkey prompt, finishPasskeyLogin; holds the token. */
export async function signInWithPasskey() {
  if (!passkeysSupported()) throw new PasskeyProblem('This browser cannot use passkeys.');
  const start = await run(START_LOGIN);
  const { challengeId, options } = start.data.startPasskeyLogin;
  let credential;
  try {
    credential = credentialJson(await navigator.credentials.get({ publicKey: requestOptions(options) }));
  } catch (error) {
    throw error instanceof PasskeyProblem ? error : browserProblem(error);
  }
  await run(FINISH_LOGIN, { challengeId, credential });
}

/** startPasskeyRegistration, the browser's prompt to make one, finishPasskeyRegistration. */
export async function addPasskey(name) {
  if (!passkeysSupported()) throw new PasskeyProblem('This browser cannot use passkeys.');
  const start = await run(START_REGISTRATION);
  let credential;
  try {
    credential = credentialJson(
      await navigator.credentials.create({ publicKey: creationOptions(start.data.startPasskeyRegistration) }),
    );
  } catch (error) {
    throw error instanceof PasskeyProblem ? error : browserProblem(error);
  }
  const result = await run(FINISH_REGISTRATION, { name, credential });
  return result.data.finishPasskeyRegistration;
}
