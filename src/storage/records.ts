import type { Principal } from '../auth/principal.js';
import type { StateStore } from '../state/state-store.js';

/**
 * What storage keeps in the StateStore, next to the bytes in the BlobStores:
 *
 * - `storage/files/<filename>`: who wrote the current content of a file (its owner), size and ETag;
 * - `storage/tickets/<nonce>`: one per upload URL, so the URL stops working once an upload through it
 *   succeeded (a retry after a failure still works);
 * - `storage/multipart/<upload_id>`: an upload in progress; its parts' ETags sit at
 *   `storage/parts/<upload_id>/<part_number>` (one key each, so parallel part uploads never contend).
 *
 * Field names are snake_case, as everywhere on the wire and in stored records.
 */

/** Who asked for a URL or an upload: never the key itself, only its id. */
export interface Requester {
  kind: 'user' | 'worker';
  key_id: string;
  /** Set for worker tokens. */
  deployment_id?: string;
  /** Set for worker tokens issued to one replica (the embedded default). */
  replica_id?: string;
}

/** A file belongs to the deployment whose worker wrote it, or to the users of the project. */
export type Owner = { kind: 'user' } | { kind: 'deployment'; deployment_id: string };

export interface FileRecord {
  owner: Owner;
  size: number;
  etag: string;
  written_at: string;
}

export interface UploadTicket {
  filename: string;
  /** Unix seconds, the same as the URL's expiry. */
  expires_at: number;
  /** When an upload through the URL succeeded; the URL is refused from then on. */
  used_at: string | null;
  requested_by: Requester;
  created_at: string;
}

export interface MultipartRecord {
  filename: string;
  parts_count: number;
  requested_by: Requester;
  created_at: string;
  /** Unix seconds after which the upload counts as abandoned and is swept. */
  expires_at: number;
}

export interface PartRecord {
  etag: string;
  size: number;
}

/** A record with the index to compare-and-set against. */
export interface Versioned<T> {
  value: T;
  index: number;
}

export function requesterOf(principal: Principal): Requester {
  if (principal.kind === 'user') return { kind: 'user', key_id: principal.keyId };
  const replica = principal.replicaId === undefined ? {} : { replica_id: principal.replicaId };
  return { kind: 'worker', key_id: principal.keyId, deployment_id: principal.deploymentId, ...replica };
}

export function ownerOf(requester: Requester): Owner {
  return requester.kind === 'worker' ? { kind: 'deployment', deployment_id: requester.deployment_id ?? '' } : { kind: 'user' };
}

const FILES = 'storage/files/';
const TICKETS = 'storage/tickets/';
const UPLOADS = 'storage/multipart/';
const PARTS = 'storage/parts/';

/** Typed access to the storage records. */
export class StorageRecords {
  constructor(private readonly state: StateStore) {}

  getFile(filename: string): Promise<FileRecord | undefined> {
    return this.read<FileRecord>(FILES + filename).then((found) => found?.value);
  }

  async putFile(filename: string, record: FileRecord): Promise<void> {
    await this.state.put(FILES + filename, JSON.stringify(record));
  }

  /** Nonces are random, so a clash means a bug: refuse rather than overwrite. */
  async createTicket(nonce: string, ticket: UploadTicket): Promise<void> {
    if (!(await this.state.cas(TICKETS + nonce, JSON.stringify(ticket), 0))) {
      throw new Error('upload ticket nonce already in use');
    }
  }

  getTicket(nonce: string): Promise<Versioned<UploadTicket> | undefined> {
    return this.read<UploadTicket>(TICKETS + nonce);
  }

  /** False when the ticket changed since it was read (a concurrent upload through the same URL). */
  markTicketUsed(nonce: string, ticket: Versioned<UploadTicket>, usedAt: string): Promise<boolean> {
    return this.state.cas(TICKETS + nonce, JSON.stringify({ ...ticket.value, used_at: usedAt }), ticket.index);
  }

  listTickets(): Promise<Array<{ nonce: string; ticket: UploadTicket }>> {
    return this.listUnder<UploadTicket>(TICKETS).then((all) => all.map(([nonce, ticket]) => ({ nonce, ticket })));
  }

  async deleteTicket(nonce: string): Promise<void> {
    await this.state.delete(TICKETS + nonce);
  }

  async createUpload(uploadId: string, record: MultipartRecord): Promise<void> {
    await this.state.put(UPLOADS + uploadId, JSON.stringify(record));
  }

  getUpload(uploadId: string): Promise<MultipartRecord | undefined> {
    return this.read<MultipartRecord>(UPLOADS + uploadId).then((found) => found?.value);
  }

  listUploads(): Promise<Array<[string, MultipartRecord]>> {
    return this.listUnder<MultipartRecord>(UPLOADS);
  }

  async deleteUpload(uploadId: string): Promise<void> {
    await this.state.delete(UPLOADS + uploadId);
  }

  async putPart(uploadId: string, partNumber: number, part: PartRecord): Promise<void> {
    await this.state.put(`${PARTS}${uploadId}/${partNumber}`, JSON.stringify(part));
  }

  /** The uploaded parts by part number. */
  async listParts(uploadId: string): Promise<Map<number, PartRecord>> {
    const parts = await this.listUnder<PartRecord>(`${PARTS}${uploadId}/`);
    return new Map(parts.map(([partNumber, part]) => [Number(partNumber), part]));
  }

  async deleteParts(uploadId: string): Promise<void> {
    for (const entry of await this.state.list(`${PARTS}${uploadId}/`)) await this.state.delete(entry.key);
  }

  private async read<T>(key: string): Promise<Versioned<T> | undefined> {
    const entry = await this.state.get(key);
    return entry && { value: JSON.parse(entry.value) as T, index: entry.modifyIndex };
  }

  /** Entries under `prefix` as [rest of the key, parsed value]. */
  private async listUnder<T>(prefix: string): Promise<Array<[string, T]>> {
    const entries = await this.state.list(prefix);
    return entries.map((entry) => [entry.key.slice(prefix.length), JSON.parse(entry.value) as T]);
  }
}
