import type { Writable } from 'node:stream';

const CHUNK = Buffer.alloc(64 * 1024, 'b');

/**
 * Writes `total` bytes to `out` in 64 KiB pieces, waiting for 'drain' whenever `out` asks to, then
 * calls `done` (which ends the stream). Once `out` closes (the peer left) nothing more is written
 * and `done` is not called.
 */
export function writeBytes(out: Writable, total: number, done: () => void): void {
  let left = total;
  let closed = false;
  out.once('close', () => (closed = true));
  const pump = (): void => {
    while (left > 0 && !closed) {
      const piece = left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left);
      left -= piece.length;
      if (!out.write(piece)) {
        out.once('drain', pump);
        return;
      }
    }
    if (!closed) done();
  };
  pump();
}
