import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * An HTTP front for a test double that can be made to fail: `pass` forwards every request, `reset` drops
 * each connection without an answer (a network error), `echo500` answers 500 with the request's headers
 * in the body (a misbehaving proxy: the worst a 5xx body can hold).
 */
export type FrontMode = 'pass' | 'reset' | 'echo500';

export interface FaultyFront {
  url: string;
  mode: FrontMode;
  close(): Promise<void>;
}

export async function createFaultyFront(target: string): Promise<FaultyFront> {
  const upstream = new URL(target);
  const sockets = new Set<Socket>();
  const front: FaultyFront = { url: '', mode: 'pass', close: async () => {} };
  const server = http.createServer((req, res) => {
    if (front.mode === 'reset') return req.socket.destroy();
    if (front.mode === 'echo500') return void res.writeHead(500, { 'content-type': 'text/plain' }).end(`upstream failed for ${JSON.stringify(req.headers)}`);
    forward(upstream, req, res);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  front.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  front.close = async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return front;
}

function forward(upstream: URL, req: http.IncomingMessage, res: http.ServerResponse): void {
  const out = http.request(
    { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  out.on('error', () => res.destroy());
  req.pipe(out);
}
