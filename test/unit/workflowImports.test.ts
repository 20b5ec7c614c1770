import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/*
 * Every workflow evaluates the modules the workflow bundle imports at load, anew: each
 * lifecycle and each training pipeline its own copy. Building zod schemas and the ed25519
 * tables there made every new workflow cost ~48 ms and ~0.5 MiB (the cluster bench's CPU
 * profile), so what validates requests loads on first use (workflows/lifecycle/validation.ts).
 * This walks the imports that run at load, as the bundler sees them, from workflows/index.ts.
 */

const ROOT = path.resolve(__dirname, '../..');

/** The module specifiers a file imports or re-exports for their values (type-only imports are erased). */
function valueImports(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022);
  const out: string[] = [];
  for (const node of source.statements) {
    if (ts.isImportDeclaration(node)) {
      const clause = node.importClause;
      if (clause?.isTypeOnly) continue;
      const named = clause?.namedBindings;
      const onlyTypes = clause && !clause.name && named && ts.isNamedImports(named) && named.elements.every((e) => e.isTypeOnly);
      if (!onlyTypes) out.push((node.moduleSpecifier as ts.StringLiteral).text);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && !node.isTypeOnly) {
      out.push((node.moduleSpecifier as ts.StringLiteral).text);
    }
  }
  return out;
}

function loadedAtCreation(entry: string): { files: string[]; packages: Map<string, string> } {
  const files = new Set<string>();
  const packages = new Map<string, string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    for (const spec of valueImports(file)) {
      if (!spec.startsWith('.')) {
        packages.set(spec, path.relative(ROOT, file));
        continue;
      }
      const base = path.resolve(path.dirname(file), spec);
      const resolved = [`${base}.ts`, path.join(base, 'index.ts')].find((f) => existsSync(f));
      assert.ok(resolved, `${path.relative(ROOT, file)} imports ${spec}, which does not resolve`);
      visit(resolved);
    }
  };
  visit(entry);
  return { files: [...files].map((f) => path.relative(ROOT, f)), packages };
}

test('creating a workflow loads no schema and no curve: what it imports at load is plain code', () => {
  const { files, packages } = loadedAtCreation(path.join(ROOT, 'workflows/index.ts'));
  assert.ok(files.includes('workflows/lifecycle/workflow.ts') && files.includes('workflows/trainingPipeline.ts'), 'the walk reaches both workflows');
  const foreign = [...packages].filter(([p]) => !p.startsWith('@temporalio/'));
  assert.deepEqual(foreign, [], 'only the Temporal SDK among packages (zod and @noble load on first use)');
  for (const heavy of ['src/spec/modelSpec.ts', 'src/lifecycle/contract.ts', 'src/lifecycle/carriedState.ts', 'src/lifecycle/actionRules.ts', 'src/auth/keyring.ts', 'src/auth/signature.ts']) {
    assert.ok(!files.includes(heavy), `${heavy} builds zod schemas as it loads: workflow code reaches it through workflows/lifecycle/validation.ts`);
  }
});

test('the walk sees a value import where there is one', () => {
  // The test above must not pass because the walk stopped early: the modules that validate do import zod.
  assert.ok(loadedAtCreation(path.join(ROOT, 'src/lifecycle/carriedState.ts')).packages.has('zod'));
  assert.ok(loadedAtCreation(path.join(ROOT, 'src/auth/keyring.ts')).packages.has('@noble/hashes/utils'));
});
