import { defineConfig, loadEnv, type Plugin } from 'vite';

const DEFAULT_CUSTODIAN_URL = 'http://localhost:8080';

// The built page may talk to its own origin and to Custodian, and to nothing else. Set only on
// `vite build`: the dev server needs its own websocket and inline styles.
function contentSecurityPolicy(custodianOrigin: string): Plugin {
  const policy = [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    `connect-src ${custodianOrigin}`,
    // The MFA QR code is shown as a data: image, never injected as markup.
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  return {
    name: 'custodian-csp',
    apply: 'build',
    transformIndexHtml: {
      order: 'pre',
      handler: (html) =>
        html.replace(
          /<meta charset="utf-8" \/>/,
          (charset) => `${charset}\n    <meta http-equiv="Content-Security-Policy" content="${policy}" />`,
        ),
    },
  };
}

export default defineConfig(({ mode }) => {
  const env = loadEnv(mode, process.cwd(), 'VITE_');
  const custodianOrigin = new URL(env.VITE_CUSTODIAN_URL || DEFAULT_CUSTODIAN_URL).origin;
  return {
    build: { target: 'es2022' },
    plugins: [contentSecurityPolicy(custodianOrigin)],
  };
});
