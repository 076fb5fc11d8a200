import type { IncomingMessage } from 'node:http';

/**
 * The Functions host's request size limit (`HttpRequestBodySizeMiddleware`; Kestrel enforces it as
 * the body is read). The durable extension's API is served by the host too.
 */
export const MAX_REQUEST_BYTES = 100 * 1024 * 1024;

/** The request's body; undefined when it is larger than `limit` (read to its end all the same). */
export function readBody(req: IncomingMessage, limit = MAX_REQUEST_BYTES): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= limit) chunks.push(c);
    });
    req.on('end', () => resolve(size > limit ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
