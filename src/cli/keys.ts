import { Registry } from '../registry/registry';
import { buildKeyring } from '../auth/keyring';
import { createKey, KeyError, revokeKey } from '../auth/keyStore';
import type { Ctx } from './context';
import { CliError, ok, type CommandResult } from './output';

/**
 * `perennial keys create|list|revoke`: an actor's private key on this machine, its public
 * half in the registry, where every worker's lifecycle reads it.
 */
export function keysCommand(ctx: Ctx, sub: string, flags: { as?: string; replace?: boolean; key?: string }): CommandResult {
  const registry = Registry.forHome(ctx.config.home);
  try {
    switch (sub) {
      case 'create': {
        if (!flags.as) throw new CliError('usage', 'keys create needs --as NAME');
        const { key, records } = createKey(ctx.config.keysDir, registry, flags.as, { replace: flags.replace });
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
        const r = revokeKey(ctx.config.keysDir, registry, flags.as, flags.key);
        return ok({ name: r.name, revoked: r.fingerprint }, `revoked key ${r.fingerprint} of ${r.name}`);
      }
      case 'list': {
        const keyring = buildKeyring(registry.keyRecords());
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
    registry.close();
  }
}
