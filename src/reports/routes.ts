import type { FastifyInstance, FastifyReply, RouteShorthandOptions } from 'fastify';
import { readJsonArtifact } from '../artifacts/store';
import type { DataProfile } from '../data/profile';
import type { FittedPipeline } from '../features/pipeline';
import { versionsOf } from '../lineage/lineage';
import type { Registry } from '../registry/registry';
import { checkPage, featureSection, type CheckPageInput } from './checkPage';
import { modelPage } from './modelPage';

const HTML = 'text/html; charset=utf-8';

/** Parsed artifacts by URI: content-addressed, so never stale; a few profiles are large, so few are kept. */
class ArtifactCache {
  private readonly entries = new Map<string, unknown>();
  constructor(private readonly size: number) {}
  read<T>(uri: string): T | null {
    if (this.entries.has(uri)) return this.entries.get(uri) as T | null;
    let value: unknown = null;
    try {
      value = readJsonArtifact(uri);
    } catch {
      // Pruned by retention or removed by hand: the page says so instead.
    }
    if (this.entries.size >= this.size) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(uri, value);
    return value as T | null;
  }
}

/**
 * The report pages, as routes of the model server: `/ui/models/{name}` and
 * `/ui/models/{name}/checks/{id}`, read from the registry's stored checks and ledger.
 */
export function registerReportPages(app: FastifyInstance, registry: Registry, options: RouteShorthandOptions): void {
  const artifacts = new ArtifactCache(16);
  const notFound = (reply: FastifyReply, what: string) => reply.code(404).type(HTML).send(`<!doctype html><p>${what.replace(/[<>&]/g, '')}</p>`);

  app.get('/ui/models/:name', options, async (request, reply) => {
    const { name } = request.params as { name: string };
    const pageNo = Number((request.query as { page?: string }).page ?? 1);
    const versions = versionsOf(registry, name);
    const checks = registry.checks(name);
    if (versions.length === 0 && checks.length === 0) return notFound(reply, `no model ${JSON.stringify(name)} in the registry`);
    const scored = [...checks].reverse().find((c) => c.enoughData);
    const latest = scored && { check: scored, features: featureSection(checkInput(scored)) };
    return reply.type(HTML).send(modelPage({ model: name, versions, checks, page: Number.isInteger(pageNo) && pageNo > 0 ? pageNo : 1, latest }));
  });

  app.get('/ui/models/:name/checks/:id', options, async (request, reply) => {
    const { name, id } = request.params as { name: string; id: string };
    if (!/^\d{1,12}$/.test(id)) return reply.code(400).type(HTML).send('<!doctype html><p>a check is named by its number, e.g. /checks/12</p>');
    const check = registry.check(name, Number(id));
    if (!check) return notFound(reply, `${name} has no stored check ${id}`);
    return reply.type(HTML).send(checkPage(checkInput(check)));
  });

  function checkInput(check: CheckPageInput['check']): CheckPageInput {
    const version = registry.get(check.model, check.version);
    return {
      check,
      report: artifacts.read<CheckPageInput['report']>(check.reportUri),
      profile: version ? artifacts.read<DataProfile>(version.lineage.profileUri) : null,
      vocabularies: (version ? artifacts.read<FittedPipeline>(version.lineage.pipelineUri)?.vocabularies : undefined) ?? {},
    };
  }
}
