/**
 * The worker's log lines: `LEVEL module: message`, on stderr (the vendor's worker logs
 * `{levelname} {module}:{lineno}: {message}` through Python's logging, also on stderr).
 */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string, err?: unknown): void;
}

export function createLogger(module: string, write: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Logger {
  return {
    info: (message) => write(`INFO ${module}: ${message}`),
    warn: (message) => write(`WARNING ${module}: ${message}`),
    error: (message, err) => write(`ERROR ${module}: ${message}${err === undefined ? '' : `\n${stackOf(err)}`}`),
  };
}

/** The error's stack, else its text; never throws (a thrown value may not convert to a string). */
function stackOf(err: unknown): string {
  try {
    return err instanceof Error ? (err.stack ?? `${err.name}: ${err.message}`) : String(err);
  } catch {
    return '(a thrown value that cannot be shown as text)';
  }
}
