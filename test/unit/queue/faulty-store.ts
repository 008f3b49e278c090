import type { KvEntry, TxnOp, TxnResult } from '../../../src/state/state-store.js';
import { MemoryStateStore } from '../../doubles/memory-state-store.js';

/** How the next transaction fails: before anything is written, or after it committed (the reply is lost). */
export type WriteFault = 'before-commit' | 'after-commit';

/**
 * A MemoryStateStore whose next transaction (the queue writes only through `txn`, via the group commit)
 * can be made to fail, before or after committing, and whose reads can be made to fail, so the queue's
 * handling of a write with an unknown outcome can be driven step by step.
 */
export class FaultyStateStore extends MemoryStateStore {
  private nextWrite: { fault: WriteFault; readsAfter: number } | undefined;
  private readsFailing = 0;
  /** How many writes failed as told. */
  faults = 0;

  /** The next transaction fails as told, and then the `readsAfter` reads (`get`) after it fail too. */
  failNextWrite(fault: WriteFault, readsAfter = 0): void {
    this.nextWrite = { fault, readsAfter };
  }

  override async txn(ops: TxnOp[]): Promise<TxnResult> {
    const next = this.nextWrite;
    this.nextWrite = undefined;
    if (next) this.readsFailing = next.readsAfter;
    if (next?.fault === 'before-commit') return this.fault('the disk is full');
    const result = await super.txn(ops);
    return next?.fault === 'after-commit' ? this.fault('the connection dropped after the commit') : result;
  }

  override async get(key: string): Promise<KvEntry | undefined> {
    if (this.readsFailing > 0) {
      this.readsFailing--;
      throw new Error('the store cannot be read');
    }
    return super.get(key);
  }

  private fault(what: string): never {
    this.faults++;
    throw new Error(what);
  }
}
