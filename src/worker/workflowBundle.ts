/*
 * How perennial's workflow code is bundled. The SDK evaluates a workflow's imports anew for
 * every workflow it creates (workflows/lifecycle/validation.ts), so zod's own modules are
 * preloaded instead: evaluated once per worker thread before any workflow exists and shared
 * by every workflow. Zod keeps no state of a workflow's in them: what it shares is its
 * classes' prototypes, which it completes the same way whichever workflow builds a schema first.
 */

/** Where the workflows are: their index exports every workflow type. */
export const WORKFLOWS_PATH = require.resolve('../../workflows');

/**
 * Modules every workflow shares (the SDK's `preloadModules`, which freezes what they export).
 * Perennial's schemas are not among them: a zod schema binds its methods onto itself on first
 * use, which a frozen schema refuses.
 */
export const PRELOADED_MODULES: readonly string[] = ['zod'];

/** The options every bundle of perennial's workflows is built with: the worker's, the tests' and the benches' alike. */
export const WORKFLOW_BUNDLE_OPTIONS = { workflowsPath: WORKFLOWS_PATH, preloadModules: [...PRELOADED_MODULES] };
