/** Build-time settings (Vite replaces `import.meta.env.*` when it bundles). */

/** Custodian's base URL, another origin than this page's. */
export const CUSTODIAN_URL = (import.meta.env.VITE_CUSTODIAN_URL || 'http://localhost:8080').replace(
  /\/+$/,
  '',
);

/**
 * Whether each request carries the document text beside its `documentId`. Servers that know
 * only query text need it; a server running trusted documents only needs the id. Build with
 * `VITE_SEND_QUERY=false` to leave the text (and the manifest) out of the bundle.
 */
export const SEND_QUERY = import.meta.env.VITE_SEND_QUERY !== 'false';
