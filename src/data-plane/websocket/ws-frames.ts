import { Transform, type TransformCallback } from 'node:stream';

/**
 * Just enough of RFC 6455 for the gateway to close a WebSocket it proxies: a server's close frame,
 * and the frame boundaries of the upstream's byte stream, so that a close frame the gateway sends
 * never lands inside a frame the upstream was in the middle of sending. Payloads are never read.
 */

/** A close frame from the server side (unmasked), with its status code and a short UTF-8 reason. */
export function closeFrame(code: number, reason = ''): Buffer {
  const text = Buffer.from(reason, 'utf8').subarray(0, 123);
  const frame = Buffer.alloc(4 + text.length);
  frame[0] = 0x88; // FIN + opcode 8 (close)
  frame[1] = 2 + text.length;
  frame.writeUInt16BE(code, 2);
  text.copy(frame, 4);
  return frame;
}

const CLOSE_OPCODE = 0x8;

/**
 * Passes the upstream's bytes through unchanged while following its frame headers. `closeWith`
 * finishes the frame in progress (if any), sends the gateway's close frame instead of anything
 * after it, and ends. A close frame of the upstream's own is remembered: the connection is then
 * already closing, and no second close frame is sent.
 */
export class FrameBoundaries extends Transform {
  /** Payload bytes of the current frame still to come. */
  private remaining = 0;
  /** A frame header split across chunks. */
  private header: Buffer | null = null;
  private pendingClose: Buffer | null = null;
  private finishedClose = false;
  /** The upstream sent a close frame. */
  upstreamClosed = false;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (this.finishedClose) return done();
    let offset = 0;
    while (offset < chunk.length) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, chunk.length - offset);
        offset += take;
        this.remaining -= take;
        continue;
      }
      // Closing: nothing after the frame in progress (a header begun is part of it) goes out.
      if (this.pendingClose !== null && this.header === null) break;
      const parsed = this.readHeader(chunk, offset);
      if (parsed === null) {
        offset = chunk.length;
        break;
      }
      offset = parsed;
    }
    this.push(offset === chunk.length ? chunk : chunk.subarray(0, offset));
    if (this.pendingClose !== null && this.atBoundary()) this.sendClose();
    done();
  }

  /** Ends the stream with this close frame at the next frame boundary. */
  closeWith(code: number, reason = ''): void {
    if (this.finishedClose || this.pendingClose !== null) return;
    if (this.upstreamClosed) {
      this.finishedClose = true;
      this.push(null);
      return;
    }
    this.pendingClose = closeFrame(code, reason);
    if (this.atBoundary()) this.sendClose();
  }

  /**
   * For a connection failing now, whose socket is about to be ended by someone else: the close frame
   * to write on it directly, or null when it cannot go (mid-frame, or a close already sent).
   */
  abortWith(code: number, reason = ''): Buffer | null {
    if (this.finishedClose || this.pendingClose !== null || this.upstreamClosed || !this.atBoundary()) return null;
    this.finishedClose = true;
    return closeFrame(code, reason);
  }

  /** The upstream ended: without a close frame of its own, the client gets one saying so (1014). */
  override _flush(done: TransformCallback): void {
    if (!this.finishedClose && !this.upstreamClosed && this.pendingClose === null && this.atBoundary()) {
      this.finishedClose = true;
      this.push(closeFrame(1014, 'upstream went away'));
    }
    done();
  }

  private atBoundary(): boolean {
    return this.remaining === 0 && this.header === null;
  }

  private sendClose(): void {
    const frame = this.pendingClose!;
    this.pendingClose = null;
    this.finishedClose = true;
    this.push(frame);
    this.push(null);
  }

  /**
   * Reads the frame header starting at `offset` (completing one split across chunks); returns the
   * offset after it, or null when the chunk ends inside the header (kept for the next chunk).
   */
  private readHeader(chunk: Buffer, offset: number): number | null {
    const start = this.header === null ? chunk.subarray(offset) : Buffer.concat([this.header, chunk.subarray(offset)]);
    const carried = this.header?.length ?? 0;
    if (start.length < 2) {
      this.header = Buffer.from(start);
      return null;
    }
    const len7 = start[1] & 0x7f;
    const masked = (start[1] & 0x80) !== 0;
    const size = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (masked ? 4 : 0);
    if (start.length < size) {
      this.header = Buffer.from(start);
      return null;
    }
    this.header = null;
    if ((start[0] & 0x0f) === CLOSE_OPCODE) this.upstreamClosed = true;
    this.remaining = len7 === 126 ? start.readUInt16BE(2) : len7 === 127 ? Number(start.readBigUInt64BE(2)) : len7;
    return offset + size - carried;
  }
}
