/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** Where Custodian is served, e.g. `https://id.example.com`; `http://localhost:8080` if unset. */
  readonly VITE_CUSTODIAN_URL?: string;
  /** `false`: send only `documentId` (for a server that runs trusted documents only). */
  readonly VITE_SEND_QUERY?: string;
}

interface ImportMeta {
  readonly env: ImportMetaEnv;
}
