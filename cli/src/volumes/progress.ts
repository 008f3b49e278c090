import { glyph, type Output } from '../output.js';
import type { UploadProgress } from './uploader.js';

const FRAMES = ['\u280b', '\u2819', '\u2839', '\u2838', '\u283c', '\u2834', '\u2826', '\u2827', '\u2807', '\u280f'];
const MB = 1024 * 1024;

/**
 * The uploader's single progress line (compat.md §1.8), redrawn with `\r` on a terminal at most every
 * 100 ms: `<spinner> <pct>% - <speed> - <file> (<up>MB/<total>MB) (<done>/<n> files)`.
 */
export function progressLine(
  output: Output,
  now: () => number = Date.now,
  write: (text: string) => void = (text) => void process.stdout.write(text),
): UploadProgress & { finish(): void } {
  const started = now();
  let frame = 0;
  let drawn = 0;
  return {
    update(sent, total, done, files, file) {
      if (!output.isTty || (now() - drawn < 100 && done < files)) return;
      drawn = now();
      const pct = total ? Math.floor((sent / total) * 100) : 100;
      const speed = `${(sent / MB / Math.max(0.001, (now() - started) / 1000)).toFixed(1)}MB/s`;
      const line = `${FRAMES[frame++ % FRAMES.length]} ${pct}% - ${speed} - ${file} (${(sent / MB).toFixed(1)}MB/${(total / MB).toFixed(1)}MB) (${done}/${files} files)`;
      write(`\r\x1b[2K${line}`);
    },
    finish() {
      if (output.isTty) write('\r\x1b[2K');
      output.out(`${glyph.check} Upload completed in ${((now() - started) / 1000).toFixed(1)} seconds`);
    },
  };
}
