import type { WheelFile } from './python-wheel.js';

/** The one project the index holds: Gantry's `sprocket` (compat.md §8.30). */
export const PROJECT = 'sprocket';

/** PEP 503 name normalisation: runs of `-`, `_` and `.` become one `-`, lower case. */
export function normalizeProjectName(name: string): string {
  return name.replace(/[-_.]+/g, '-').toLowerCase();
}

/** The root page of a PEP 503 simple index: one link per project. */
export function rootPage(): string {
  return page('Simple index', `<a href="${PROJECT}/">${PROJECT}</a>`);
}

/** A project page: the wheel, linked relative to the page, with its digest and Python requirement. */
export function projectPage(wheel: WheelFile): string {
  const requires = wheel.requiresPython ? ` data-requires-python="${escapeHtml(wheel.requiresPython)}"` : '';
  const href = `${encodeURIComponent(wheel.filename)}#sha256=${wheel.sha256}`;
  return page(`Links for ${PROJECT}`, `<a href="${href}"${requires}>${escapeHtml(wheel.filename)}</a>`);
}

function page(title: string, body: string): string {
  return `<!DOCTYPE html>\n<html>\n<head><meta name="pypi:repository-version" content="1.0"><title>${title}</title></head>\n<body>\n<h1>${title}</h1>\n${body}\n</body>\n</html>\n`;
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
