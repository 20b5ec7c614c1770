/**
 * The baseline for the serving benchmark: a bare fastify route that parses the same
 * JSON body and answers a fixed prediction, with nothing of perennial behind it.
 */
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.post('/v1/models/:target', async (req) => {
  const body = req.body as { instances: unknown[] };
  return { predictions: body.instances.map(() => ({ score: 0.5, label: 1, request_id: 'x' })), model_name: 'bare', model_version: 1 };
});
app.listen({ host: '127.0.0.1', port: Number(process.env.PORT) }).then(() => console.log('ready'));
