import { describe, expect, it } from 'vitest';
import { FileOutput, InputOutputProcessor, Sprocket, type JsonObject } from '../src/index.js';
import { handleJob, inputName, type PipelineDeps } from '../src/pipeline.js';
import { createTestContext } from '../src/testing.js';

class Upper extends InputOutputProcessor {
  readonly finalized: string[] = [];

  override async finalize(requestId: string, _inputs: JsonObject, outputs: JsonObject): Promise<JsonObject> {
    this.finalized.push(requestId);
    return { ...outputs, finalized: true };
  }
}

class Fixed extends Sprocket {
  override processor = new Upper();

  constructor(private readonly outputs: unknown) {
    super();
  }

  predict(): JsonObject {
    return this.outputs as JsonObject;
  }
}

function deps(worker: Sprocket): PipelineDeps & { uploads: string[]; busyLog: boolean[] } {
  const uploads: string[] = [];
  const busyLog: boolean[] = [];
  return {
    worker,
    uploads,
    busyLog,
    predictTimeoutMs: 10_000,
    setBusy: (busy) => busyLog.push(busy),
    isBusy: () => busyLog.at(-1) === true,
    uploadFile: async (requestId, file) => {
      uploads.push(file.path);
      return `https://gantry.test/v1/storage/${requestId}-${file.name}`;
    },
  };
}

const job = (payload: unknown) => ({ requestId: 'req', payload, mode: 'queue' as const, controller: new AbortController(), emitInfo: () => {} });

describe('handleJob', () => {
  it('runs finalize, then uploads top-level FileOutputs and replaces them by their URL', async () => {
    const worker = new Fixed({ image: new FileOutput('/tmp/out/cat.png'), nested: { f: 'kept' } });
    const d = deps(worker);
    const outputs = await handleJob(d, job({}));
    expect(outputs).toEqual({ image: 'https://gantry.test/v1/storage/req-cat.png', nested: { f: 'kept' }, finalized: true });
    expect(d.uploads).toEqual(['/tmp/out/cat.png']);
    expect((worker.processor as Upper).finalized).toEqual(['req']);
    expect(d.busyLog).toEqual([true, false]);
  });

  it.each([
    { name: 'predict returned null', outputs: null, error: 'predict must return an object, got null' },
    { name: 'predict returned an array', outputs: [1], error: 'predict must return an object, got an array' },
    { name: 'outputs hold a BigInt', outputs: { n: 1n }, error: /^predict returned outputs that are not JSON/ },
  ])('fails when $name', async ({ outputs, error }) => {
    const d = deps(new Fixed(outputs));
    await expect(handleJob(d, job({}))).rejects.toThrow(error);
    expect(d.busyLog).toEqual([true, false]);
  });
});

describe('inputName', () => {
  it.each([
    { url: 'https://h/a/b/cat.png?x=1', want: 'cat.png' },
    { url: 'https://h/', want: 'input' },
    { url: 'https://h/a/..', want: 'input' },
  ])('$url → $want', ({ url, want }) => {
    expect(inputName(url)).toBe(want);
  });
});

describe('createTestContext', () => {
  it('records emitted info, checks its size, and aborts on demand', async () => {
    const ctx = createTestContext({ requestId: 'r' });
    ctx.emitInfo({ step: 1 });
    expect(() => ctx.emitInfo({ big: 'x'.repeat(4100) })).toThrow(/limit is 4096/);
    ctx.abort(new Error('stop'));
    expect([ctx.infos, ctx.signal.aborted, ctx.requestId]).toEqual([[{ step: 1 }], true, 'r']);
  });
});
