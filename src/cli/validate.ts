import { existsSync } from 'node:fs';
import { loadSpecFile, SpecError } from '../spec/load';
import type { Ctx } from './context';
import { CliError, ok, type CommandResult } from './output';

/** `perennial validate <spec file>`: offline (no Temporal), every problem at once; exit 0 or 2. */
export function validateCommand(_ctx: Ctx, file: string): CommandResult {
  if (!existsSync(file)) throw new CliError('not_found', `no spec file ${file}`);
  try {
    const loaded = loadSpecFile(file);
    return ok({ file, model: loaded.spec.name, specHash: loaded.specHash }, `${file}: a valid spec of ${loaded.spec.name} (sha256 ${loaded.specHash})`);
  } catch (err) {
    if (err instanceof SpecError) throw new CliError('bad_input', err.message, { file, problems: err.problems });
    throw err;
  }
}
