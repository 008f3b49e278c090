import { appendFileSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LogTail, readLastLines, rotateIfLarge } from '../../../../src/scheduler/local/log-file.js';

describe('replica log files', () => {
  let dir: string;
  let log: string;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'gantry-log-'));
    log = path.join(dir, 'output.log');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads what is kept, then only what was appended', () => {
    writeFileSync(log, 'one\ntwo\n');
    const tail = new LogTail(log);
    expect(tail.read('complete')).toEqual(['one', 'two']);
    expect(tail.read('complete')).toEqual([]);
    appendFileSync(log, 'three\r\n');
    expect(tail.read('complete')).toEqual(['three']);
  });

  it('holds back a partial line until its newline, or until the file goes quiet when following', () => {
    writeFileSync(log, 'done\nhalf');
    const tail = new LogTail(log);
    expect(tail.read('if-idle')).toEqual(['done']);
    appendFileSync(log, ' more');
    expect(tail.read('if-idle')).toEqual([]);
    expect(tail.read('if-idle')).toEqual(['half more']);
  });

  it('includes a partial last line when reading everything', () => {
    writeFileSync(log, 'a\nno newline');
    expect(new LogTail(log).read('all')).toEqual(['a', 'no newline']);
  });

  it('rotates past the cap by copy and truncate, keeping the newest lines', () => {
    writeFileSync(log, 'old-1\nold-2\n');
    expect(rotateIfLarge(log, 100)).toBe(false);
    appendFileSync(log, 'x'.repeat(100) + '\n');
    expect(rotateIfLarge(log, 100)).toBe(true);
    expect(statSync(log).size).toBe(0);
    appendFileSync(log, 'new-1\n');
    expect(new LogTail(log).read('all')).toEqual(['old-1', 'old-2', 'x'.repeat(100), 'new-1']);
  });

  it('keeps following across a rotation without losing the unread end of the old file', () => {
    writeFileSync(log, 'a\n');
    const tail = new LogTail(log);
    expect(tail.read('complete')).toEqual(['a']);
    appendFileSync(log, `b\n${'y'.repeat(200)}\n`);
    rotateIfLarge(log, 100);
    appendFileSync(log, 'c\n');
    expect(tail.read('complete')).toEqual(['b', 'y'.repeat(200), 'c']);
  });

  it('returns the last lines for a crash message', () => {
    writeFileSync(log, Array.from({ length: 30 }, (_, i) => `line ${i}`).join('\n') + '\n');
    expect(readLastLines(log, 3)).toEqual(['line 27', 'line 28', 'line 29']);
    expect(readLastLines(path.join(dir, 'missing.log'), 3)).toEqual([]);
  });
});
