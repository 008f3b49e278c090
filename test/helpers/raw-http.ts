import { connect, type Socket } from 'node:net';

export interface RawExchange {
  /** Everything the server sent, as text. */
  text: string;
  /** Whether the server closed the connection before `waitMs` passed. */
  closed: boolean;
  /** Milliseconds from the first write to the close (or to giving up). */
  ms: number;
  /** The JSON body of the answer, when it has one. */
  json: () => { error: { code: string; message: string; param: string | null; type: string } };
  status: number | undefined;
}

/**
 * Writes `chunks` to a plain TCP connection (a string is sent at once; `{ pauseMs }` waits) and reads until
 * the server closes it or `waitMs` passes: for requests no HTTP client would send.
 */
export async function rawExchange(port: number, chunks: Array<string | { pauseMs: number }>, waitMs = 10_000): Promise<RawExchange> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const started = Date.now();
  let text = '';
  socket.on('data', (c: Buffer) => (text += c.toString('latin1')));
  socket.on('error', () => undefined);
  const closed = new Promise<boolean>((resolve) => {
    socket.once('close', () => resolve(true));
    setTimeout(() => resolve(false), waitMs).unref();
  });
  void writeAll(socket, chunks);
  const wasClosed = await closed;
  const ms = Date.now() - started;
  socket.destroy();
  return { text, closed: wasClosed, ms, status: statusOf(text), json: () => JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) };
}

async function writeAll(socket: Socket, chunks: Array<string | { pauseMs: number }>): Promise<void> {
  for (const chunk of chunks) {
    if (socket.destroyed) return;
    if (typeof chunk === 'string') socket.write(chunk);
    else await new Promise((r) => setTimeout(r, chunk.pauseMs));
  }
}

function statusOf(text: string): number | undefined {
  const match = /^HTTP\/1\.1 (\d{3})/.exec(text);
  return match ? Number(match[1]) : undefined;
}
