import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import path from 'node:path';
import { certificateNames } from '../../../../src/tls/names.js';
import { issueCa, issueServerCert } from '../../../../src/tls/x509.js';

export interface InputServer {
  /** https://localhost:<port> */
  url: string;
  /** This server's CA certificate (PEM). */
  caPem: string;
  /** Paths requested so far. */
  requests: string[];
  close(): Promise<void>;
}

/** An HTTPS server for input files, with a certificate from its own throwaway CA; `files` maps path → body. */
export async function startInputServer(files: Record<string, string>): Promise<InputServer> {
  const now = Date.now();
  const ca = await issueCa(now, 'sprocket-ts-test');
  const cert = await issueServerCert(ca, certificateNames([]), now);
  const requests: string[] = [];
  const server: Server = createServer({ cert: cert.cert, key: cert.key }, (req, res) => {
    requests.push(req.url ?? '');
    const body = files[req.url ?? ''];
    if (req.url === '/moved') return void res.writeHead(302, { location: '/hello.txt' }).end();
    if (body === undefined) return void res.writeHead(404).end('not found');
    res.writeHead(200, { 'content-type': 'text/plain' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `https://localhost:${port}`,
    caPem: ca.cert,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** One PEM file holding every given CA, for NODE_EXTRA_CA_CERTS (which takes a single file). */
export function writeCaBundle(dir: string, pems: string[], files: string[] = []): string {
  const bundle = path.join(dir, 'ca-bundle.pem');
  writeFileSync(bundle, [...pems, ...files.map((f) => readFileSync(f, 'utf8'))].join('\n'));
  return bundle;
}
