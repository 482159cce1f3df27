// Shared by the loopback test servers.
import type http from 'node:http';

/** Closes a server, dropping kept-alive connections so close() does not wait for clients to hang up. */
export function closeServer(server: http.Server): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.closeAllConnections();
    server.close((err) => (err ? reject(err) : resolve()));
  });
}
