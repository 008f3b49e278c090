/**
 * The smallest TypeScript queue worker: { "name": "Together" } → { "message": "Hello, Together!" }.
 * It reports progress with emitInfo, and stops early when Gantry says the job is no longer its own.
 */
import { Sprocket, emitInfo, run, type PredictContext } from '@gantry/sprocket';

interface HelloArgs {
  name?: string;
  [key: string]: unknown;
}

class HelloWorker extends Sprocket<HelloArgs> {
  private greeting = '';

  override async setup(): Promise<void> {
    // Load models, open clients, read volumes here: /health answers 503 until this returns.
    this.greeting = process.env.GREETING ?? 'Hello';
  }

  async predict(args: HelloArgs, ctx: PredictContext): Promise<{ message: string }> {
    ctx.signal.throwIfAborted();
    const name = typeof args.name === 'string' && args.name !== '' ? args.name : 'world';
    emitInfo({ greeted: name });
    return { message: `${this.greeting}, ${name}!` };
  }
}

await run(new HelloWorker(), { name: process.env.TOGETHER_DEPLOYMENT_NAME ?? 'hello-ts' });
