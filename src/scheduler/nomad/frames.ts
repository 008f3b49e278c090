import type { StreamFrame } from '../../clients/nomad/types.js';

/**
 * Splits Nomad's fs stream (concatenated JSON objects, not guaranteed to be newline-delimited,
 * hashicorp.md §1.8) into frames. Feed it chunks; it returns the frames completed so far.
 */
export class FrameDecoder {
  private buffer = '';
  private depth = 0;
  private inString = false;
  private escaped = false;
  private scanned = 0;

  push(chunk: string): StreamFrame[] {
    this.buffer += chunk;
    const frames: StreamFrame[] = [];
    let start = 0;
    for (let i = this.scanned; i < this.buffer.length; i++) {
      if (this.step(this.buffer[i]!) && this.depth === 0) {
        frames.push(JSON.parse(this.buffer.slice(start, i + 1).trim()) as StreamFrame);
        start = i + 1;
      }
    }
    this.buffer = this.buffer.slice(start);
    this.scanned = this.buffer.length;
    return frames;
  }

  /** Advances the scanner by one character; true when it closed an object. */
  private step(c: string): boolean {
    if (this.inString) {
      if (this.escaped) this.escaped = false;
      else if (c === '\\') this.escaped = true;
      else if (c === '"') this.inString = false;
      return false;
    }
    if (c === '"') this.inString = true;
    else if (c === '{') this.depth++;
    else if (c === '}') return --this.depth === 0;
    return false;
  }
}

/** Turns decoded bytes into whole lines, keeping a partial last line until it completes. */
export class LineSplitter {
  private rest = '';

  push(text: string): string[] {
    const parts = (this.rest + text).split('\n');
    this.rest = parts.pop() ?? '';
    return parts.map((l) => l.replace(/\r$/, ''));
  }

  /** The unterminated last line, if any. */
  flush(): string[] {
    const rest = this.rest;
    this.rest = '';
    return rest ? [rest] : [];
  }
}
