import { createServer, type Socket } from 'node:net';
import { azuriteConnectionString } from '../../local/azurite';

// A storage endpoint that accepts connections and never answers: what a stalled storage front end,
// or a firewall that lets the handshake through, looks like to a client.

export interface SilentServer {
  port: number;
  /** A Table Storage connection string (the development account) pointing at it. */
  connectionString: string;
  /** Connections it has accepted so far. */
  accepted(): number;
  close(): Promise<void>;
}

export async function startSilentServer(): Promise<SilentServer> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    connectionString: azuriteConnectionString(`http://127.0.0.1:${port}`),
    accepted: () => accepted,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((ok) => server.close(ok));
    },
  };
}
