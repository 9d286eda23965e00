// Layer boundaries, enforced in CI (`npm run lint`): workflow code and the shared common/ modules are
// bundled into Temporal's deterministic sandbox, so they may import only workflow-safe modules; the
// Node-only side (activities/, host/, cli/, workers/) is reachable from them by `import type` alone.
import tseslint from 'typescript-eslint';

const nodeOnly = {
  patterns: [
    { group: ['node:*'], message: 'Node built-ins are not workflow-safe: do this in an activity (activities/).' },
    { regex: '^(fs|path|os|child_process|crypto|net|http|https|url|util|stream|worker_threads)(/.*)?$', message: 'Node built-ins are not workflow-safe: do this in an activity.' },
    { group: ['execa', 'yaml'], message: 'not workflow-safe: do this in an activity.' },
    { group: ['@temporalio/activity', '@temporalio/worker', '@temporalio/client', '@temporalio/testing'], message: 'workflow code talks to Temporal through @temporalio/workflow only.' },
    { group: ['**/activities', '**/activities/**', '**/host/**', '**/cli/**', '**/workers/**'], allowTypeImports: true, message: 'workflow-side code may import only the types of Node-side modules (`import type`).' },
  ],
};

export default tseslint.config(
  { ignores: ['node_modules/**', '.venv/**', 'runs/**', '.state/**'] },
  {
    files: ['workflows/**/*.ts', 'common/**/*.ts'],
    languageOptions: { parser: tseslint.parser },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: { '@typescript-eslint/no-restricted-imports': ['error', nodeOnly] },
  },
  {
    files: ['activities/**/*.ts'],
    languageOptions: { parser: tseslint.parser },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/workflows/**', '**/cli/**'], allowTypeImports: true, message: 'activities are called by workflows and the CLI, never the other way round.' }] },
      ],
    },
  },
);
