// A loopback HTTP proxy for the proxy tests: it tunnels CONNECT (what undici's proxy agent asks for) and,
// with `forward`, also relays plain absolute-URL requests; every request is recorded in `seen` as
// `CONNECT host:port` or `METHOD url`. Without `forward` a plain request is refused (405), so a client
// that skipped the tunnel fails visibly.
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { closeServer } from './http.js';

export interface TestProxy {
  url: string;
  seen: string[];
  close: () => Promise<void>;
}

export async function startProxy(opts: { forward?: boolean } = {}): Promise<TestProxy> {
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    if (!opts.forward) {
      res.writeHead(405).end();
      return;
    }
    seen.push(`${req.method} ${req.url}`);
    const u = new URL(req.url ?? '');
    const up = http.request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    seen.push(`CONNECT ${req.url}`);
    const [host, port] = (req.url ?? '').split(':');
    const target = net.connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      target.write(head);
      target.pipe(client);
      client.pipe(target);
    });
    target.on('error', () => client.destroy());
    client.on('error', () => target.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, close: () => closeServer(server) };
}
