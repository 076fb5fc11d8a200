import type { ServerResponse } from 'node:http';

const CHUNK = Buffer.alloc(64 * 1024, 0x61);

/** Answers `n` bytes as fast as the reader takes them (waiting for drain): an upstream's large download. */
export function writeBytes(res: ServerResponse, n: number): void {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(n) });
  let left = n;
  const pump = () => {
    while (left > 0) {
      const part = left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left);
      left -= part.length;
      if (!res.write(part)) return void res.once('drain', pump);
    }
    res.end();
  };
  pump();
}
