// Lint rules: typescript-eslint's recommended set plus the project's own rules
// (randomness only from node:crypto; no console.log outside the CLI and benches).
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'console/dist/**', 'console/node_modules/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-properties': ['error', { object: 'Math', property: 'random', message: 'Randomness comes from node:crypto only.' }],
      eqeqeq: ['error', 'always'],
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/cli/**'],
    rules: { 'no-console': 'error' },
  },
  {
    // The web console runs in a browser: React's hook rules, and no node: modules or Buffer.
    files: ['console/**/*.{ts,tsx}'],
    ...reactHooks.configs.flat.recommended,
    rules: {
      ...reactHooks.configs.flat.recommended.rules,
      'no-console': 'error',
      'no-restricted-imports': ['error', { patterns: [{ group: ['node:*'], message: 'The console runs in a browser: use Web APIs.' }] }],
      'no-restricted-globals': ['error', { name: 'Buffer', message: 'The console runs in a browser: use Uint8Array.' }, { name: 'localStorage', message: 'Tokens live in sessionStorage only.' }],
    },
  },
);
