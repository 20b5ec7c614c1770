import type { FastifyInstance, FastifyReply, RouteShorthandOptions } from 'fastify';
import { readJsonArtifact } from '../artifacts/read';
import type { DataProfile } from '../data/profile';
import type { FittedPipeline } from '../features/pipeline';
import { versionsOf } from '../lineage/lineage';
import type { Registry } from '../registry/registry';
import { checkPage, featureSection, type CheckPageInput } from './checkPage';
import { modelPage } from './modelPage';
import { escapeHtml } from './svg';
import { BoundedCache, cachedPromise } from '../util/boundedCache';


/**
 * Parsed artifacts by URI. Profiles and pipelines are content-addressed and a check's report
 * is written once, so an entry never goes stale; one that cannot be read (pruned by
 * retention) is not kept. Profiles are large: few entries.
 */
function artifactReader(size: number): <T>(uri: string) => Promise<T | null> {
  const cache = new BoundedCache<string, Promise<unknown>>(size);
  return async <T>(uri: string): Promise<T | null> => {
    try {
      return (await cachedPromise(cache, uri, () => readJsonArtifact(uri))) as T;
    } catch {
      return null;
    }
  };
}

/** No script, frame or outside resource is ever needed: the browser is told so. */
const PAGE_HEADERS = { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'", 'x-content-type-options': 'nosniff' };

/**
 * The report pages, as routes of the model server: `/ui/models/{name}` and
 * `/ui/models/{name}/checks/{id}`, read from the registry's stored checks and ledger.
 */
export function registerReportPages(app: FastifyInstance, registry: Registry, options: RouteShorthandOptions): void {
  const readArtifact = artifactReader(16);
  // Rendered model pages by what they show: rebuilt only when a check or a ledger entry was
  // added. Rendering reads every stored check on the server's event loop (tens of ms with
  // thousands): repeated views must not cost predictions that.
  const pages = new BoundedCache<string, Promise<string>>(64);
  const notFound = (reply: FastifyReply, what: string) => reply.code(404).headers(PAGE_HEADERS).send(`<!doctype html><p>${escapeHtml(what)}</p>`);

  app.get('/ui/models/:name', options, async (request, reply) => {
    const { name } = request.params as { name: string };
    const raw = Number((request.query as { page?: string }).page ?? 1);
    const pageNo = Number.isInteger(raw) && raw > 0 && raw < 1e9 ? raw : 1;
    const key = `${name}\u0000${pageNo}\u0000${await registry.changeMark(name)}`;
    const html = await cachedPromise(pages, key, async () => {
      const versions = await versionsOf(registry, name);
      const checks = await registry.checks(name);
      if (versions.length === 0 && checks.length === 0) return '';
      const scored = [...checks].reverse().find((c) => c.enoughData);
      const latest = scored && { check: scored, features: featureSection(await checkInput(scored)) };
      return modelPage({ model: name, versions, checks, page: pageNo, latest });
    });
    if (!html) return notFound(reply, `no model ${JSON.stringify(name)} in the registry`);
    return reply.headers(PAGE_HEADERS).send(html);
  });

  app.get('/ui/models/:name/checks/:id', options, async (request, reply) => {
    const { name, id } = request.params as { name: string; id: string };
    if (!/^\d{1,12}$/.test(id)) return reply.code(400).headers(PAGE_HEADERS).send('<!doctype html><p>a check is named by its number, e.g. /checks/12</p>');
    const check = await registry.check(name, Number(id));
    if (!check) return notFound(reply, `${name} has no stored check ${id}`);
    return reply.headers(PAGE_HEADERS).send(checkPage(await checkInput(check)));
  });

  async function checkInput(check: CheckPageInput['check']): Promise<CheckPageInput> {
    const version = await registry.get(check.model, check.version);
    return {
      check,
      report: await readArtifact<CheckPageInput['report']>(check.reportUri),
      profile: version ? await readArtifact<DataProfile>(version.lineage.profileUri) : null,
      vocabularies: (version ? (await readArtifact<FittedPipeline>(version.lineage.pipelineUri))?.vocabularies : undefined) ?? {},
    };
  }
}
