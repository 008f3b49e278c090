import { buffer } from 'node:stream/consumers';
import type { BlobStore } from '../blobs/blob-store.js';
import type { StateStore, TxnOp } from '../state/state-store.js';
import type { JobRecord, JsonObject } from './types.js';
import type { WriteBatcher } from './write-batcher.js';

const PREFIX = 'queue/jobs/';

/**
 * Largest payload/outputs kept inline in a job's record (compat.md §8.31); larger ones go to the
 * BlobStore, so no record outgrows Consul KV's 512 KB value limit.
 */
export const INLINE_LIMIT_BYTES = 64 * 1024;

/** Page size when rebuilding from the store: bounds memory while a million jobs stream through. */
const SCAN_PAGE = 2000;

/**
 * Job records in the StateStore (`queue/jobs/<deployment id>/<request id>`), written through the group
 * commit. Large payloads and outputs are written to the BlobStore first and referenced.
 */
export class JobStore {
  constructor(
    private readonly state: StateStore,
    private readonly blobs: BlobStore,
    private readonly batcher: WriteBatcher,
  ) {}

  /** Durable when it resolves. Blobs are written before the record that references them. */
  async save(record: JobRecord): Promise<void> {
    await this.batcher.write([{ verb: 'set', key: keyOf(record.deployment_id, record.request_id), value: JSON.stringify(record) }]);
  }

  async saveMany(records: JobRecord[]): Promise<void> {
    const ops: TxnOp[] = records.map((r) => ({ verb: 'set', key: keyOf(r.deployment_id, r.request_id), value: JSON.stringify(r) }));
    for (let i = 0; i < ops.length; i += 100) await this.batcher.write(ops.slice(i, i + 100));
  }

  async load(deploymentId: string, requestId: string): Promise<JobRecord | undefined> {
    const entry = await this.state.get(keyOf(deploymentId, requestId));
    return entry && (JSON.parse(entry.value) as JobRecord);
  }

  async remove(record: JobRecord): Promise<void> {
    await this.batcher.write([{ verb: 'delete', key: keyOf(record.deployment_id, record.request_id) }]);
    for (const ref of [record.payload_ref, record.outputs_ref]) if (ref) await this.blobs.delete(ref);
  }

  /** Moves a large value to the BlobStore and returns its reference, or undefined when it fits inline. */
  async offload(record: JobRecord, field: 'payload' | 'outputs', value: JsonObject): Promise<string | undefined> {
    const json = Buffer.from(JSON.stringify(value));
    if (json.length <= INLINE_LIMIT_BYTES) return undefined;
    const ref = `queue/${record.deployment_id}/${record.request_id}/${field}.json`;
    await this.blobs.write(ref, json);
    return ref;
  }

  /** The record's payload, read from the BlobStore when it was offloaded. */
  async payloadOf(record: JobRecord): Promise<JsonObject> {
    return record.payload_ref ? this.readBlob(record.payload_ref) : (record.payload ?? {});
  }

  async outputsOf(record: JobRecord): Promise<JsonObject | null> {
    if (record.outputs_ref) return this.readBlob(record.outputs_ref);
    return record.outputs ?? null;
  }

  /** Every stored job, a page at a time. */
  async *scan(): AsyncGenerator<JobRecord[]> {
    let after: string | undefined;
    for (;;) {
      const page = await this.state.list(PREFIX, { limit: SCAN_PAGE, ...(after ? { after } : {}) });
      if (page.length === 0) return;
      yield page.map((e) => JSON.parse(e.value) as JobRecord);
      after = page.at(-1)!.key;
    }
  }

  private async readBlob(ref: string): Promise<JsonObject> {
    const found = await this.blobs.read(ref);
    if (!found) throw new Error(`job data ${ref} is missing from the blob store`);
    return JSON.parse((await buffer(found.stream)).toString('utf8')) as JsonObject;
  }
}

function keyOf(deploymentId: string, requestId: string): string {
  return `${PREFIX}${deploymentId}/${requestId}`;
}
