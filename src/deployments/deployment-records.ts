import { appError } from '../shared/errors.js';
import { failedOpAt, RecordLayout } from '../state/named-records.js';
import { MAX_VALUE_BYTES, type StateStore, type TxnOp } from '../state/state-store.js';
import type { DeploymentRecord } from './types.js';

/** Any string starting `dep_` is tried as an id. */
const LAYOUT = new RecordLayout('deployments', /^dep_/);
const BY_JOB = 'deployments/by-job/';

/** A record with the modifyIndex it was read at, for compare-and-set updates. */
export interface StoredDeployment {
  record: DeploymentRecord;
  index: number;
}

/**
 * Deployment records in the StateStore: `deployments/by-id/<id>` holds the record; `by-name/<encoded name>`
 * (`encodeName` in `state/named-records.ts`) and `by-job/<job id>` are indexes written in the same
 * transaction, so a name or a derived job id is taken by at most one deployment (compat.md §8.24).
 */
export class DeploymentRecords {
  constructor(private readonly state: StateStore) {}

  /** By id, name, or a name the deployment had before a rename. */
  async find(idOrName: string): Promise<StoredDeployment | undefined> {
    const direct = (await this.byId(idOrName)) ?? (await this.byIndex(LAYOUT.nameKey(idOrName)));
    if (direct) return direct;
    return (await this.all()).find((d) => d.record.previous_names.includes(idOrName));
  }

  async get(idOrName: string): Promise<StoredDeployment> {
    const found = await this.find(idOrName);
    if (!found) throw appError('GANTRY_ERR_DEPLOYMENT_NOT_FOUND', `deployment "${idOrName}" not found`);
    return found;
  }

  async all(): Promise<StoredDeployment[]> {
    const entries = await this.state.list(LAYOUT.byId);
    return entries.map((e) => ({ record: JSON.parse(e.value) as DeploymentRecord, index: e.modifyIndex }));
  }

  async insert(record: DeploymentRecord): Promise<void> {
    assertStorable(record);
    const ops: TxnOp[] = [
      { verb: 'check-not-exists', key: LAYOUT.nameKey(record.name) },
      { verb: 'check-not-exists', key: BY_JOB + record.job_id },
      { verb: 'set', key: LAYOUT.idKey(record.id), value: JSON.stringify(record) },
      { verb: 'set', key: LAYOUT.nameKey(record.name), value: record.id },
      { verb: 'set', key: BY_JOB + record.job_id, value: record.id },
    ];
    const result = await this.state.txn(ops);
    if (!result.ok) throw await this.conflictOf(record, result.errors[0]?.opIndex === 0);
  }

  /**
   * Writes an updated record if nobody changed it since `index`; moves the name index on a rename. With
   * a leadership's `fence` (leader-only writers: the autoscaler), nothing is written once that leadership
   * is over.
   */
  async update(previous: StoredDeployment, next: DeploymentRecord, fence?: TxnOp): Promise<void> {
    assertStorable(next);
    const fenced = fence ? [fence] : [];
    const result = await this.state.txn([...fenced, ...LAYOUT.replaceOps({ stored: previous.record, index: previous.index }, next)]);
    if (result.ok) return;
    if (fence && failedOpAt(result, 0)) throw notLeading();
    // The op after the record's cas is the new name's check-not-exists, present only on a rename.
    if (previous.record.name !== next.name && failedOpAt(result, fenced.length + 1)) throw nameTaken(next.name);
    throw appError('GANTRY_ERR_STATE_CONFLICT', `deployment "${next.name}" was changed concurrently; retry the request`);
  }

  async remove(record: DeploymentRecord): Promise<void> {
    await this.state.txn([
      { verb: 'delete', key: LAYOUT.idKey(record.id) },
      { verb: 'delete', key: LAYOUT.nameKey(record.name) },
      { verb: 'delete', key: BY_JOB + record.job_id },
    ]);
  }

  private async byId(id: string): Promise<StoredDeployment | undefined> {
    if (!LAYOUT.isId(id)) return undefined;
    const entry = await this.state.get(LAYOUT.idKey(id));
    return entry && { record: JSON.parse(entry.value) as DeploymentRecord, index: entry.modifyIndex };
  }

  private async byIndex(key: string): Promise<StoredDeployment | undefined> {
    const id = (await this.state.get(key))?.value;
    if (!id) return undefined;
    return this.byId(id);
  }

  private async conflictOf(record: DeploymentRecord, nameTakenFirst: boolean) {
    if (nameTakenFirst) return nameTaken(record.name);
    const holder = await this.byIndex(BY_JOB + record.job_id);
    return appError(
      'GANTRY_ERR_DEPLOYMENT_EXISTS',
      `deployment name "${record.name}" derives the job id "${record.job_id}", which already exists for deployment "${holder?.record.name ?? '?'}"`,
      { param: 'name' },
    );
  }
}

function notLeading() {
  return appError('GANTRY_ERR_NOT_LEADER', 'this replica no longer leads, so it no longer sets replica counts; the new leader does');
}

function nameTaken(name: string) {
  return appError('GANTRY_ERR_DEPLOYMENT_EXISTS', `a deployment named "${name}" already exists`, { param: 'name' });
}

/**
 * A record the StateStore cannot hold (Consul KV's value limit, which every implementation enforces) is
 * the caller's 413 before anything is written, naming the field that takes the most room.
 */
function assertStorable(record: DeploymentRecord): void {
  const bytes = Buffer.byteLength(JSON.stringify(record));
  if (bytes <= MAX_VALUE_BYTES) return;
  const [field, fieldBytes] = largestField(record);
  throw appError(
    'GANTRY_ERR_REQUEST_TOO_LARGE',
    `${field}: the deployment would take ${bytes} bytes to store, over the state store's limit of ${MAX_VALUE_BYTES} bytes; ${field} takes ${fieldBytes} of them`,
    { param: field },
  );
}

function largestField(record: DeploymentRecord): [string, number] {
  const sizes = Object.entries(record).map(([key, value]): [string, number] => [key, Buffer.byteLength(JSON.stringify(value) ?? '')]);
  return sizes.reduce((a, b) => (b[1] > a[1] ? b : a));
}
