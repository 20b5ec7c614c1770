// The workflow API with every `patched()` answering "new code", whatever the history says:
// what shipping a lifecycle change without its patch amounts to for runs recorded before
// it. The real call is still made, so runs recorded after every patch (their markers
// expected) replay as before: the test's control.
import { patched as recordPatch } from '@temporalio/workflow/lib/index';

export * from '@temporalio/workflow/lib/index';

export function patched(patchId: string): boolean {
  recordPatch(patchId);
  return true;
}
