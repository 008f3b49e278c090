import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

/**
 * Paths pino blanks out wherever they appear in a log line: credentials in headers, and any field that
 * carries a secret value, key or token. Logs are fields, never interpolated strings, so these cover them.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'headers.authorization',
  'authorization',
  'key',
  'token',
  'value',
  'secret',
  'adminKey',
  'admin_key',
  '*.key',
  '*.token',
  '*.value',
  '*.secret',
  '*.adminKey',
  '*.admin_key',
  '*.apiKey',
  '*.api_key',
];

/** Query parameters that are credentials (signed storage URLs); removed from logged URLs. */
const CREDENTIAL_QUERY = /([?&](?:X-Gantry-Signature|signature|sig|token|key)=)[^&]*/gi;

export function redactUrl(url: string): string {
  return url.replace(CREDENTIAL_QUERY, '$1<redacted>');
}

export interface LoggerSettings {
  level: LoggerOptions['level'];
  destination?: DestinationStream;
}

export function createLogger(settings: LoggerSettings): Logger {
  const options: LoggerOptions = {
    level: settings.level,
    redact: { paths: REDACT_PATHS, censor: '<redacted>' },
    serializers: {
      req: (req: { method?: string; url?: string; id?: string }) => ({
        id: req.id,
        method: req.method,
        url: redactUrl(req.url ?? ''),
      }),
    },
  };
  return settings.destination ? pino(options, settings.destination) : pino(options);
}

export type { Logger };
