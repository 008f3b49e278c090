import { StringDecoder } from 'node:string_decoder';
import type { NomadClient } from '../../clients/nomad/index.js';
import { isNomadError } from '../../clients/nomad/http.js';
import type { LogLine } from '../scheduler.js';
import { FrameDecoder, LineSplitter } from './frames.js';
import { TASK_NAME } from './settings.js';

const TERMINAL = new Set(['complete', 'failed', 'lost']);

/**
 * Aborts `controller` when the allocation reaches a terminal client status, watched by blocking queries:
 * Nomad's followed log stream never ends on its own (hashicorp.md §1.8).
 */
async function abortWhenAllocEnds(client: NomadClient, allocId: string, controller: AbortController, waitMs: number): Promise<void> {
  let index = 0;
  while (!controller.signal.aborted) {
    try {
      const { data, meta } = await client.allocations.info(allocId, { index, waitMs, signal: controller.signal });
      if (TERMINAL.has(data.ClientStatus) || data.DesiredStatus !== 'run') return controller.abort();
      index = meta.lastIndex < index ? 0 : meta.lastIndex;
    } catch (err) {
      if (controller.signal.aborted) return;
      if (isNomadError(err, 404)) return controller.abort();
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

export interface AllocLogOptions {
  allocId: string;
  stream: 'stdout' | 'stderr';
  follow: boolean;
  signal: AbortSignal | undefined;
  /** Blocking-query wait of the allocation watch (default: 60 s). */
  watchWaitMs?: number;
}

/**
 * One stream of one allocation as batches of log lines: frames decoded, heartbeats skipped, `Data` from
 * base64, lines reassembled across frames. Ends at the end of the kept log (without `follow`), or when the
 * allocation ends or `signal` aborts. A task that has not started yet has no logs (Nomad's 404).
 */
export async function* allocLogLines(client: NomadClient, o: AllocLogOptions): AsyncIterable<LogLine[]> {
  const controller = new AbortController();
  const stop = () => controller.abort();
  o.signal?.addEventListener('abort', stop, { once: true });
  if (o.follow) void abortWhenAllocEnds(client, o.allocId, controller, o.watchWaitMs ?? 60_000);
  try {
    const body = await client.allocations.logs(o.allocId, TASK_NAME, o.stream, o.follow, controller.signal);
    body.setEncoding('utf8');
    const frames = new FrameDecoder();
    const bytes = new StringDecoder('utf8');
    const lines = new LineSplitter();
    for await (const chunk of body) {
      const text = frames.push(chunk as string).map((f) => (f.Data ? bytes.write(Buffer.from(f.Data, 'base64')) : '')).join('');
      const batch = lines.push(text);
      if (batch.length > 0) yield batch.map((line) => ({ replicaId: o.allocId, line }));
    }
    const rest = lines.push(bytes.end()).concat(lines.flush());
    if (rest.length > 0) yield rest.map((line) => ({ replicaId: o.allocId, line }));
  } catch (err) {
    if (controller.signal.aborted || isNomadError(err, 404)) return;
    throw err;
  } finally {
    o.signal?.removeEventListener('abort', stop);
    controller.abort();
  }
}
