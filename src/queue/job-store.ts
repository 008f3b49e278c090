import { buffer } from 'node:stream/consumers';
import type { BlobStore } from '../blobs/blob-store.js';
import { qualifiedName } from '../blobs/namespaces.js';
import { appError } from '../shared/errors.js';
import { MAX_VALUE_BYTES, type StateStore, type TxnOp } from '../state/state-store.js';
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

/** Where offloaded values live, and how a record names them (`queue/<deployment id>/<request id>/…`). */
const BLOB_NAMESPACE = 'queue';
const REF_PREFIX = `${BLOB_NAMESPACE}/`;

/**
 * Job records in the StateStore (`queue/jobs/<deployment id>/<request id>`), written through the group
 * commit. Large payloads and outputs are written to the BlobStore first and referenced. `blobs` is the
 * `queue` namespace of the BlobStore (blobs/namespaces.ts), which no upload can name; a record's ref is
 * the blob's name qualified by that namespace.
 */
export class JobStore {
  constructor(
    private readonly state: StateStore,
    private readonly blobs: BlobStore,
    private readonly batcher: WriteBatcher,
  ) {}

  /** Accepts writes (for a new leadership), each transaction checked by its fence when given. */
  openWrites(fence: TxnOp | undefined): void {
    this.batcher.open(fence);
  }

  /** Refuses writes not yet committed, and later ones, as GANTRY_ERR_NOT_LEADER (stepped down). */
  refuseWrites(): void {
    this.batcher.refuse();
  }

  /** Durable when it resolves. Blobs are written before the record that references them. */
  async save(record: JobRecord): Promise<void> {
    await this.batcher.write([setOp(record)]);
  }

  /** Each record is its own write; the group commit packs them into as few transactions as fit. */
  async saveMany(records: JobRecord[]): Promise<void> {
    const ops = records.map(setOp);
    await Promise.all(ops.map((op) => this.batcher.write([op])));
  }

  async load(deploymentId: string, requestId: string): Promise<JobRecord | undefined> {
    const entry = await this.state.get(keyOf(deploymentId, requestId));
    return entry && (JSON.parse(entry.value) as JobRecord);
  }

  async remove(record: JobRecord): Promise<void> {
    await this.batcher.write([{ verb: 'delete', key: keyOf(record.deployment_id, record.request_id) }]);
    for (const ref of [record.payload_ref, record.outputs_ref]) if (ref) await this.blobs.delete(blobNameOf(ref));
  }

  /** Moves a large value to the BlobStore and returns its reference, or undefined when it fits inline. */
  async offload(record: JobRecord, field: 'payload' | 'outputs', value: JsonObject): Promise<string | undefined> {
    const json = Buffer.from(JSON.stringify(value));
    if (json.length <= INLINE_LIMIT_BYTES) return undefined;
    const name = `${record.deployment_id}/${record.request_id}/${field}.json`;
    await this.blobs.write(name, json);
    return qualifiedName(BLOB_NAMESPACE, name);
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
    const found = await this.blobs.read(blobNameOf(ref));
    if (!found) throw new Error(`job data ${ref} is missing from the blob store`);
    return JSON.parse((await buffer(found.stream)).toString('utf8')) as JsonObject;
  }
}

/**
 * A job's record as one write. A record the StateStore cannot hold (Consul KV's value limit, shared by
 * every implementation) is refused with a 413 before anything is written: payloads and outputs over
 * INLINE_LIMIT_BYTES are already kept aside, so only a very large `info` gets here.
 */
function setOp(record: JobRecord): TxnOp {
  const value = JSON.stringify(record);
  const bytes = Buffer.byteLength(value);
  if (bytes > MAX_VALUE_BYTES) {
    throw appError(
      'GANTRY_ERR_JOB_PAYLOAD_TOO_LARGE',
      `the job's record would take ${bytes} bytes, over the state store's limit of ${MAX_VALUE_BYTES} bytes; payloads over ${INLINE_LIMIT_BYTES} bytes are stored aside, so shorten "info"`,
      { param: 'info' },
    );
  }
  return { verb: 'set', key: keyOf(record.deployment_id, record.request_id), value };
}

function blobNameOf(ref: string): string {
  if (!ref.startsWith(REF_PREFIX)) throw new Error(`job data ref ${ref} is not in the ${BLOB_NAMESPACE} namespace`);
  return ref.slice(REF_PREFIX.length);
}

function keyOf(deploymentId: string, requestId: string): string {
  return `${PREFIX}${deploymentId}/${requestId}`;
}
