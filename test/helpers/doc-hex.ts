/** Reads the byte-level examples of the docs back, so tests hold the docs to the code. */
import assert from 'node:assert/strict';

/** The hex of each fenced block in a section: leading even-length hex tokens of each line. */
export function hexBlocks(markdown: string, heading: string): Uint8Array[] {
  const section = markdown.split('\n## ').find((s) => s.startsWith(heading));
  assert.ok(section, `section ${heading} not found`);
  const blocks = section.split('```').filter((_, i) => i % 2 === 1);
  return blocks.map((b) => {
    let hex = '';
    for (const line of b.split('\n')) {
      for (const token of line.trim().split(/\s+/)) {
        if (!/^(?:[0-9a-f]{2})+$/.test(token)) break;
        hex += token;
      }
    }
    return new Uint8Array(Buffer.from(hex, 'hex'));
  });
}
