import net from 'node:net';

/**
 * Gives each replica its own TCP port (told to it as PORT). The kernel picks a free one (listen on port
 * 0); we remember what our replicas hold so two replicas never get the same port even while one is down.
 * Another program may still take a port between our check and the replica's bind; the replica then fails
 * to start, is restarted, and gets a fresh port because `ensure` checks again.
 */
export class PortAllocator {
  private readonly held = new Set<number>();

  /** `preferred` when it is free (a replica keeps its port across restarts), else a new free port. */
  async ensure(preferred: number | undefined): Promise<number> {
    if (preferred !== undefined && (await isFree(preferred))) {
      this.held.add(preferred);
      return preferred;
    }
    if (preferred !== undefined) this.held.delete(preferred);
    return this.fresh();
  }

  /** Marks a port as held (a re-adopted replica is still serving on it). */
  claim(port: number): void {
    this.held.add(port);
  }

  release(port: number | undefined): void {
    if (port !== undefined) this.held.delete(port);
  }

  private async fresh(): Promise<number> {
    for (let tries = 0; tries < 50; tries++) {
      const port = await listenOnce(0);
      if (port !== undefined && !this.held.has(port)) {
        this.held.add(port);
        return port;
      }
    }
    throw new Error('no free TCP port found for a replica');
  }
}

/** Whether nothing listens on `port` (on any address, as a worker binds 0.0.0.0). */
export async function isFree(port: number): Promise<boolean> {
  return (await listenOnce(port)) !== undefined;
}

function listenOnce(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(undefined));
    server.listen({ port, host: '0.0.0.0', exclusive: true }, () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : undefined));
    });
  });
}
