// Runs graphql-http's GraphQL-over-HTTP server audits against the URL given as the only
// argument. Every audit must pass, recommendations (warn) and optional ones (notice)
// included, and there must be exactly EXPECTED of them: a new graphql-http version that
// adds or drops audits is a change to review, not to pass silently.
import { auditServer } from 'graphql-http';

const EXPECTED = 61;

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs <graphql url>');
  process.exit(2);
}

const results = await auditServer({ url });
const failed = results.filter((result) => result.status !== 'ok');
for (const result of results) {
  const line = `${result.status.padEnd(6)} ${result.id} ${result.name}`;
  if (result.status === 'ok') {
    console.log(line);
    continue;
  }
  let body = '';
  try {
    body = await result.response.text();
  } catch {
    // The body was read by the audit itself.
  }
  console.log(`${line}\n       reason: ${result.reason}`);
  console.log(`       status: ${result.response.status}`);
  console.log(`       content-type: ${result.response.headers.get('content-type')}`);
  if (body) {
    console.log(`       body: ${body.slice(0, 500)}`);
  }
}

const ok = results.length - failed.length;
console.log(`graphql-http audit: ${ok}/${results.length} ok (expected ${EXPECTED})`);
if (failed.length > 0 || results.length !== EXPECTED) {
  process.exit(1);
}
