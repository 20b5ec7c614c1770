import { openRegistry } from '../registry/open';
import { buildKeyring } from '../auth/keyring';
import { createKey, KeyError, revokeKey } from '../auth/keyStore';
import { actorOrDefault, cliIdentity, connect, type Ctx } from './context';
import { refreshKeysSignal } from '../../workflows';
import { CliError, ok, type CommandResult } from './output';

/**
 * `perennial keys create|list|revoke`: an actor's private key on this machine, its public
 * half in the registry, where every worker's lifecycle reads it.
 */
export async function keysCommand(ctx: Ctx, sub: string, flags: { as?: string; replace?: boolean; key?: string }): Promise<CommandResult> {
  const result = await keyRecordCommand(ctx, sub, flags);
  // A revocation should not wait for each lifecycle's next run: tell the running ones now.
  if (sub === 'revoke' || (sub === 'create' && flags.replace)) {
    const told = await tellRunningLifecycles(ctx);
    const json = result.json as Record<string, unknown>;
    return { ...result, json: { ...json, lifecyclesTold: told }, text: `${result.text}\n${told === null ? 'Temporal not reachable: running lifecycles reload keys at their next run, or on npx perennial … (refreshKeys)' : `told ${told} running lifecycle(s) to reload keys`}` };
  }
  return result;
}

/** Sends `refreshKeys` to every running lifecycle; null when Temporal cannot be reached. */
async function tellRunningLifecycles(ctx: Ctx): Promise<number | null> {
  let client;
  try {
    client = await connect(ctx.config, cliIdentity(actorOrDefault(undefined)));
  } catch {
    return null;
  }
  try {
    let told = 0;
    for await (const w of client.workflow.list({ query: "WorkflowType = 'lifecycle' AND ExecutionStatus = 'Running'" })) {
      await client.workflow.getHandle(w.workflowId).signal(refreshKeysSignal);
      told++;
    }
    return told;
  } catch {
    return null;
  } finally {
    await client.connection.close();
  }
}

async function keyRecordCommand(ctx: Ctx, sub: string, flags: { as?: string; replace?: boolean; key?: string }): Promise<CommandResult> {
  const registry = openRegistry(ctx.config);
  try {
    switch (sub) {
      case 'create': {
        if (!flags.as) throw new CliError('usage', 'keys create needs --as NAME');
        const { key, records } = await createKey(ctx.config.keysDir, registry, flags.as, { replace: flags.replace });
        const replaced = records.find((r) => r.op === 'revoke');
        return ok(
          { name: key.name, fingerprint: key.fingerprint, file: `${ctx.config.keysDir}/${key.name}.key`, ...(replaced ? { revoked: replaced.fingerprint } : {}) },
          [
            `key ${key.fingerprint} of ${key.name} written to ${ctx.config.keysDir}/${key.name}.key (mode 0600) and registered`,
            ...(replaced ? [`revoked the previous key ${replaced.fingerprint}`] : []),
            'running lifecycles load it on their next refreshKeys signal (the CLI sends one when a lifecycle does not know a key yet)',
          ].join('\n'),
        );
      }
      case 'revoke': {
        if (!flags.as || !flags.key) throw new CliError('usage', 'keys revoke needs --as NAME --key FINGERPRINT');
        const r = await revokeKey(ctx.config.keysDir, registry, flags.as, flags.key);
        return ok({ name: r.name, revoked: r.fingerprint }, `revoked key ${r.fingerprint} of ${r.name}`);
      }
      case 'list': {
        const keyring = buildKeyring(await registry.keyRecords());
        const keys = [...keyring.current.values()].flat().map((k) => ({ name: k.name, fingerprint: k.fingerprint, trust: k.trust }));
        const lines = keys.map((k) => `${k.name.padEnd(20)} ${k.fingerprint}  ${k.trust === 'first-registered' ? 'first key registered for the name (trusted on first use; pin it in the spec)' : 'endorsed by an earlier key'}`);
        return ok({ keys, ignored: keyring.ignored }, [...(lines.length ? lines : ['no keys registered']), ...keyring.ignored.map((i) => `ignored: ${i}`)].join('\n'));
      }
      default:
        throw new CliError('usage', `keys takes create, list or revoke (got ${JSON.stringify(sub)})`);
    }
  } catch (err) {
    if (err instanceof KeyError) throw new CliError('bad_input', err.message);
    throw err;
  } finally {
    await registry.close();
  }
}
