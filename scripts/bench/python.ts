import { ensurePythonEnv } from '../../src/python/environment';

/**
 * The Python worker's environment, for the benches' baselines (it has LightGBM, scipy and
 * numpy); undefined, with the reason printed, where Python cannot provide it.
 */
export async function baselinePython(baseline: string): Promise<string | undefined> {
  try {
    return await ensurePythonEnv((m) => console.log(`  ${m}`));
  } catch (err) {
    console.log(`  ${baseline} baseline skipped: ${(err as Error).message.split('\n')[0]}`);
    return undefined;
  }
}
