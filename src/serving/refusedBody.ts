import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * Answers a request refused before its whole body arrived (too large, unknown model or
 * verb, unreadable) on a connection that stays open while the rest of the body is read and
 * thrown away. Closing at once would leave unread bytes behind, the kernel would reset the
 * connection, and a client still uploading could lose the answer (it sees EPIPE instead of
 * the 413 or 404). Past `maxBytes` of discarded body the connection is closed after all;
 * the server's request timeout bounds the time (Node checks it every 30 s), as it bounds any
 * slow upload.
 */
export function drainRefusedBody(request: FastifyRequest, reply: FastifyReply, maxBytes: number): void {
  const raw = request.raw;
  if (raw.complete) return;
  reply.removeHeader('connection');
  let discarded = 0;
  raw.on('data', (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > maxBytes) raw.socket.destroy();
  });
  raw.resume();
}
