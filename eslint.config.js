import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { importX } from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

/** `no-restricted-imports` patterns forbidding imports of the given top-level folders of src. */
const forbid = (from, folders, why) => ({
  files: [`src/${from}/**/*.ts`],
  rules: {
    'no-restricted-imports': ['error', { patterns: [{ group: folders.flatMap((f) => [`**/${f}`, `**/${f}/**`]), message: why }] }],
  },
});

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.visionq/**', 'charts/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly',
        clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', URL: 'readonly',
        AbortController: 'readonly', AbortSignal: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly',
        setImmediate: 'readonly', queueMicrotask: 'readonly', structuredClone: 'readonly', fetch: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-explicit-any': 'off',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  // No import cycle anywhere in src: the folders draw a one-way data path (docs/architecture.md).
  {
    files: ['src/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      ...importX.flatConfigs.typescript.settings,
      'import-x/resolver': undefined,
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: 'tsconfig.json' })],
    },
    rules: { 'import-x/no-cycle': ['error', { ignoreExternal: true }] },
  },
  // Layering (docs/architecture.md): api and kube are leaves, queue sits on them, the agent and the
  // controller sit on those, the sandbox uses the controller only through its public entry.
  forbid('api', ['kube', 'queue', 'agent', 'controller', 'sandbox', 'cli'], 'src/api imports nothing of ours (leaf layer).'),
  forbid('kube', ['api', 'queue', 'agent', 'controller', 'sandbox', 'cli'], 'src/kube imports nothing of ours (leaf layer).'),
  forbid('queue', ['agent', 'controller', 'sandbox', 'cli'], 'src/queue sits below the agent and the controller.'),
  forbid('agent', ['controller', 'sandbox', 'cli'], 'The agent never imports the controller or the sandbox.'),
  forbid('controller', ['agent', 'sandbox', 'cli'], 'The controller never imports the agent, the sandbox or the CLI.'),
  {
    files: ['src/sandbox/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/controller/*/**', '**/controller/*', '!**/controller/index.js'], message: 'The sandbox uses the controller only through src/controller/index.ts.' },
            { group: ['**/agent', '**/agent/**', '**/cli', '**/cli/**'], message: 'The sandbox does not import the agent or the CLI.' },
          ],
        },
      ],
    },
  },
);
