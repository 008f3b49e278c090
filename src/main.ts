import type { Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import closeWithGrace from 'close-with-grace';
import { ConfigError, loadConfig, type LoadConfigOptions } from './config/load.js';
import type { ServerConfig } from './config/schema.js';
import { buildDeps, dataPaths } from './deps.js';
import { buildServer } from './server.js';
import type { Logger } from './shared/logger.js';
import { ensureAdminKey, type AdminKeyOutcome } from './startup/admin-key.js';
import { refreshServingTls, resolveServingTls, type ServingTls } from './startup/tls.js';

/**
 * Process entry for `gantry server`: load config → TLS → deps → admin key → server → listen, and close
 * with grace on SIGINT/SIGTERM. The only module that ends the process.
 */
export async function runServer(options: LoadConfigOptions): Promise<void> {
  const config = loadConfigOrExit(options);
  const tls = await resolveServingTls(config, dataPaths(config.dataDir).tls);
  const deps = await buildDeps(config, tls ? { tls: { cert: tls.cert, key: tls.key }, caFile: tls.caFile } : {});
  const admin = await ensureAdminKey(deps.keys, config.adminKey, dataPaths(config.dataDir).adminKey);
  const app = buildServer(deps);
  const tlsRefresh: { stop?: (() => void) | undefined } = {};
  closeWithGrace({ delay: 10_000 }, async ({ err }) => {
    if (err) deps.logger.error({ err }, 'shutting down after an error');
    // Steps down first (server.ts, preClose): the lock is released before HTTP waits for requests.
    await app.close();
    await deps.leadership.close();
    for (const part of [...deps.lifecycle].reverse()) await part.close?.();
    await deps.state.close();
    tlsRefresh.stop?.();
  });
  // The queue is rebuilt and replicas re-adopted before the first request: a submit served before the
  // rebuild would take a place ahead of every job already waiting.
  for (const part of deps.lifecycle) await part.start?.();
  await app.listen({ host: config.host, port: config.port });
  tlsRefresh.stop = keepTlsFresh(config, tls, (next) => (app.server as Server).setSecureContext({ cert: next.cert, key: next.key }), deps.logger);
  const url = listenUrl(config, tls, (app.server.address() as AddressInfo).port);
  deps.publicUrl.listening(url);
  // A cluster replica campaigns now that its advertise URL is known (the embedded default already leads).
  await deps.leadership.start();
  process.stdout.write(banner(url, config, admin, tls));
}

/** The local CA's certificates are renewed and rotated while the server runs (not only at start). */
function keepTlsFresh(config: ServerConfig, tls: ServingTls | undefined, apply: (tls: ServingTls) => void, logger: Logger): (() => void) | undefined {
  if (!tls || config.tls.mode !== 'local-ca') return undefined;
  return refreshServingTls({ current: tls, reload: () => resolveServingTls(config, dataPaths(config.dataDir).tls), apply, logger });
}

function loadConfigOrExit(options: LoadConfigOptions): ServerConfig {
  try {
    return loadConfig(options);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`gantry: ${err.message}\n`);
    process.exit(2);
  }
}

function listenUrl(config: ServerConfig, tls: ServingTls | undefined, port: number): string {
  const scheme = tls ? 'https' : 'http';
  const host = ['0.0.0.0', '::'].includes(config.host) ? 'localhost' : config.host;
  return `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

function banner(url: string, config: ServerConfig, admin: AdminKeyOutcome, tls: ServingTls | undefined): string {
  const lines = [
    '',
    `Gantry is running at ${url}`,
    `  data directory : ${config.dataDir}`,
    ...adminLines(admin),
    ...(tls?.caFile ? [`  CA certificate : ${tls.caFile}  (clients must trust it)`] : []),
    '',
    'Point the official clients at it:',
    `  export TOGETHER_BASE_URL=${url}/v1`,
    `  export TOGETHER_API_KEY=${apiKeyHint(admin)}`,
    ...(tls?.caFile ? [`  export NODE_EXTRA_CA_CERTS=${tls.caFile}`, `  export SSL_CERT_FILE=${tls.caFile}`] : []),
    '',
  ];
  return lines.join('\n') + '\n';
}

function apiKeyHint(admin: AdminKeyOutcome): string {
  if (admin.kind === 'configured') return '"$GANTRY_ADMIN_KEY"';
  return admin.file ? `$(cat ${admin.file})` : '<an API key>';
}

function adminLines(admin: AdminKeyOutcome): string[] {
  switch (admin.kind) {
    case 'configured':
      return ['  admin key      : the one in GANTRY_ADMIN_KEY'];
    case 'created':
      return [
        `  admin key      : ${admin.key}`,
        `                   (shown once; also saved to ${admin.file}, readable only by you)`,
      ];
    case 'existing':
      return [
        admin.file
          ? `  admin key      : saved in ${admin.file}`
          : '  admin key      : exists (its file was removed; `gantry keys create --role admin` makes another)',
      ];
  }
}
