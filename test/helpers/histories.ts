import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import type { Client } from '@temporalio/client';

const HISTORIES = path.resolve(__dirname, '../replay/histories');

/**
 * Saves a run's history as a replay fixture (test/replay/histories), binary protobuf read
 * back with the SDK's own History type. Fixtures are re-recorded only on purpose:
 * `PERENNIAL_RECORD_HISTORIES=1 npm test -- <the test file>`.
 */
export async function recordHistoryOnPurpose(client: Client, workflowId: string, file: string, runId?: string): Promise<void> {
  if (process.env.PERENNIAL_RECORD_HISTORIES !== '1') return;
  mkdirSync(HISTORIES, { recursive: true });
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  writeFileSync(path.join(HISTORIES, file), temporal.api.history.v1.History.encode(history).finish());
}
