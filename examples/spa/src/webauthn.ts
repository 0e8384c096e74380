// Passkeys in the browser. Custodian answers WebAuthn options as JSON, `{ publicKey: { … } }`
// with every binary field base64url-encoded (no padding), and takes the new credential or the
// assertion back as JSON in the same encoding: what `PublicKeyCredential.toJSON()` makes.
// Browsers with `PublicKeyCredential.parseCreationOptionsFromJSON` / `parseRequestOptionsFromJSON`
// and `toJSON()` convert both ways themselves; for older ones this module decodes and encodes
// the few binary fields by hand.

/** A passkey ceremony that the browser refused or the person abandoned. */
export class PasskeyError extends Error {}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Whether this browser can use passkeys at all. */
export function passkeysSupported(): boolean {
  return typeof PublicKeyCredential === 'function' && typeof navigator.credentials?.create === 'function';
}

export function fromBase64url(text: string): ArrayBuffer {
  const base64 = text.replace(/-/g, '+').replace(/_/g, '/');
  const binary = atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, '='));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return bytes.buffer;
}

export function toBase64url(buffer: ArrayBuffer | ArrayBufferView): string {
  const bytes =
    buffer instanceof ArrayBuffer ? new Uint8Array(buffer) : new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The `publicKey` member of Custodian's options. */
function publicKeyOf(options: unknown): Json {
  const publicKey = isObject(options) ? options.publicKey : undefined;
  if (!isObject(publicKey)) throw new PasskeyError('Custodian answered passkey options this page cannot read.');
  return publicKey;
}

/** Credential descriptors (`excludeCredentials`, `allowCredentials`) with binary ids. */
function descriptors(list: unknown): PublicKeyCredentialDescriptor[] | undefined {
  if (!Array.isArray(list)) return undefined;
  return list.filter(isObject).map((descriptor) => ({
    ...(descriptor as object),
    type: 'public-key',
    id: fromBase64url(String(descriptor.id)),
  })) as PublicKeyCredentialDescriptor[];
}

function creationOptions(options: unknown): PublicKeyCredentialCreationOptions {
  const json = publicKeyOf(options);
  if (typeof PublicKeyCredential.parseCreationOptionsFromJSON === 'function') {
    return PublicKeyCredential.parseCreationOptionsFromJSON(json as unknown as PublicKeyCredentialCreationOptionsJSON);
  }
  const user = isObject(json.user) ? json.user : {};
  return {
    ...(json as object),
    challenge: fromBase64url(String(json.challenge)),
    user: { ...(user as object), id: fromBase64url(String(user.id)) },
    excludeCredentials: descriptors(json.excludeCredentials),
  } as PublicKeyCredentialCreationOptions;
}

function requestOptions(options: unknown): PublicKeyCredentialRequestOptions {
  const json = publicKeyOf(options);
  if (typeof PublicKeyCredential.parseRequestOptionsFromJSON === 'function') {
    return PublicKeyCredential.parseRequestOptionsFromJSON(json as unknown as PublicKeyCredentialRequestOptionsJSON);
  }
  return {
    ...(json as object),
    challenge: fromBase64url(String(json.challenge)),
    allowCredentials: descriptors(json.allowCredentials),
  } as PublicKeyCredentialRequestOptions;
}

/** The credential as JSON, binary fields in base64url: `toJSON()`, or the same by hand. */
function credentialJson(credential: PublicKeyCredential): Json {
  if (typeof credential.toJSON === 'function') return credential.toJSON() as unknown as Json;
  const response = credential.response;
  const common = {
    id: credential.id,
    rawId: toBase64url(credential.rawId),
    type: credential.type,
    authenticatorAttachment: credential.authenticatorAttachment ?? undefined,
    clientExtensionResults: credential.getClientExtensionResults(),
  };
  if (response instanceof AuthenticatorAttestationResponse) {
    return {
      ...common,
      response: {
        clientDataJSON: toBase64url(response.clientDataJSON),
        attestationObject: toBase64url(response.attestationObject),
        transports: typeof response.getTransports === 'function' ? response.getTransports() : [],
      },
    };
  }
  const assertion = response as AuthenticatorAssertionResponse;
  return {
    ...common,
    response: {
      clientDataJSON: toBase64url(assertion.clientDataJSON),
      authenticatorData: toBase64url(assertion.authenticatorData),
      signature: toBase64url(assertion.signature),
      userHandle: assertion.userHandle ? toBase64url(assertion.userHandle) : null,
    },
  };
}

/** What to tell the person when the browser's ceremony fails. */
function explain(error: unknown, creating: boolean): PasskeyError {
  if (error instanceof PasskeyError) return error;
  const name = error instanceof DOMException ? error.name : '';
  switch (name) {
    case 'NotAllowedError':
    case 'AbortError':
      return new PasskeyError('No passkey was used: the request was cancelled or timed out.');
    case 'InvalidStateError':
      return new PasskeyError(
        creating ? 'This device already holds a passkey for your account.' : 'This passkey cannot be used here.',
      );
    case 'SecurityError':
      return new PasskeyError('Passkeys do not work on this page’s address (it must be the site Custodian names).');
    case 'NotSupportedError':
      return new PasskeyError('This browser or device cannot make a passkey of the kind Custodian asks for.');
    default:
      return new PasskeyError('The browser could not use a passkey. Try again.');
  }
}

function unsupported(): PasskeyError {
  return new PasskeyError('This browser cannot use passkeys.');
}

/** Makes a new passkey from `startPasskeyRegistration`'s options; answers it as JSON. */
export async function createPasskey(options: unknown): Promise<Json> {
  if (!passkeysSupported()) throw unsupported();
  try {
    const credential = await navigator.credentials.create({ publicKey: creationOptions(options) });
    if (!(credential instanceof PublicKeyCredential)) throw new PasskeyError('The browser made no passkey.');
    return credentialJson(credential);
  } catch (error) {
    throw explain(error, true);
  }
}

/** Signs a challenge (`startPasskeyLogin`'s or the MFA step's options); answers it as JSON. */
export async function usePasskey(options: unknown): Promise<Json> {
  if (!passkeysSupported()) throw unsupported();
  try {
    const credential = await navigator.credentials.get({ publicKey: requestOptions(options) });
    if (!(credential instanceof PublicKeyCredential)) throw new PasskeyError('The browser used no passkey.');
    return credentialJson(credential);
  } catch (error) {
    throw explain(error, false);
  }
}
