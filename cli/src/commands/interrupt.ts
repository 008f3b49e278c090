import { JigError } from '../errors.js';

/**
 * Runs `work` until it settles or the user presses Ctrl-C; on Ctrl-C `onInterrupt` prints its lines and
 * the command ends with exit code 130, as the original's watch and tracking loops do.
 */
export async function interruptible<T>(work: Promise<T>, onInterrupt: () => void): Promise<T> {
  let stop: (() => void) | undefined;
  const interrupted = new Promise<never>((_, reject) => {
    stop = () => {
      onInterrupt();
      reject(new JigError('', 130));
    };
    process.once('SIGINT', stop);
  });
  try {
    return await Promise.race([work, interrupted]);
  } finally {
    process.removeListener('SIGINT', stop!);
  }
}
