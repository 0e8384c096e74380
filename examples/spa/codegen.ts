import { createHash } from 'node:crypto';
import type { CodegenConfig } from '@graphql-codegen/cli';

// Document ids as the GraphQL-over-HTTP persisted documents appendix prefixes them:
// `sha256:<hex of the normalised document>`. The same ids key persisted-documents.json,
// which the server loads as its list of trusted documents.
const documentId = (document: string): string =>
  `sha256:${createHash('sha256').update(document, 'utf8').digest('hex')}`;

const config: CodegenConfig = {
  schema: '../../schema.graphql',
  documents: ['src/operations.graphql'],
  ignoreNoDocuments: false,
  generates: {
    './src/gql/': {
      preset: 'client',
      presetConfig: {
        fragmentMasking: false,
        persistedDocuments: {
          // The bundle carries only the ids; the text is in the manifest.
          mode: 'replaceDocumentWithHash',
          hashPropertyName: 'documentId',
          hashAlgorithm: documentId,
        },
      },
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: {
          Date: 'string',
          DateTime: 'string',
          JSON: 'unknown',
          UUID: 'string',
        },
      },
    },
  },
};

export default config;
