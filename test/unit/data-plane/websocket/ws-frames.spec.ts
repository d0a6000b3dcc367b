import { closeFrame, FrameBoundaries } from '../../../../src/data-plane/websocket/ws-frames';

/** A server frame (unmasked) with this opcode and payload; lengths past 125 use the extended forms. */
function frame(opcode: number, payload: Buffer): Buffer {
  const len = payload.length;
  const head = len < 126 ? Buffer.from([0x80 | opcode, len]) : len < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
  if (len >= 126 && len < 65536) {
    head[0] = 0x80 | opcode;
    head[1] = 126;
    head.writeUInt16BE(len, 2);
  } else if (len >= 65536) {
    head[0] = 0x80 | opcode;
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(len), 2);
  }
  return Buffer.concat([head, payload]);
}

const text = (s: string) => frame(0x1, Buffer.from(s));

/** Feeds `chunks` in order, calling `between(i)` after chunk i; returns everything pushed and whether it ended. */
async function run(chunks: Buffer[], between: (i: number, t: FrameBoundaries) => void = () => undefined): Promise<{ out: Buffer; ended: boolean }> {
  const t = new FrameBoundaries();
  const out: Buffer[] = [];
  let ended = false;
  t.on('data', (c: Buffer) => out.push(c));
  t.on('end', () => (ended = true));
  for (let i = 0; i < chunks.length; i++) {
    await new Promise<void>((done) => t.write(chunks[i], () => done()));
    between(i, t);
  }
  await new Promise((r) => setImmediate(r));
  return { out: Buffer.concat(out), ended };
}

describe('closeFrame', () => {
  it('is an unmasked close frame with the code and reason', () => {
    expect(closeFrame(1008, 'no')).toEqual(Buffer.from([0x88, 4, 0x03, 0xf0, 0x6e, 0x6f]));
  });

  it('keeps a control frame within 125 bytes of payload', () => {
    expect(closeFrame(1001, 'x'.repeat(500)).length).toBe(2 + 125);
  });
});

describe('FrameBoundaries', () => {
  it('passes frames through unchanged, whatever the chunking', async () => {
    const small = Buffer.concat([text('hello'), frame(0x2, Buffer.alloc(300, 7)), text('end')]);
    const large = Buffer.concat([small, frame(0x2, Buffer.alloc(70_000, 1)), text('end')]);
    for (const [stream, size] of [[small, 1], [small, 2], [small, 3], [small, 7], [large, 126], [large, 4096], [large, large.length]] as const) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < stream.length; i += size) chunks.push(stream.subarray(i, i + size));
      expect((await run(chunks)).out.equals(stream)).toBe(true);
    }
  });

  it('at a boundary, sends the close frame at once and ends', async () => {
    const { out, ended } = await run([text('a')], (_, t) => t.closeWith(1008, 'revoked'));
    expect(out.equals(Buffer.concat([text('a'), closeFrame(1008, 'revoked')]))).toBe(true);
    expect(ended).toBe(true);
  });

  it('mid-frame, finishes the frame first and drops what follows it', async () => {
    const big = frame(0x2, Buffer.alloc(1000, 9));
    const after = text('never');
    const { out, ended } = await run([big.subarray(0, 10), Buffer.concat([big.subarray(10), after])], (i, t) => {
      if (i === 0) t.closeWith(1001);
    });
    expect(out.equals(Buffer.concat([big, closeFrame(1001)]))).toBe(true);
    expect(ended).toBe(true);
  });

  it('mid-header (a header split across chunks), waits for the frame to end', async () => {
    const f = frame(0x1, Buffer.alloc(200, 65));
    const { out } = await run([f.subarray(0, 1), f.subarray(1, 3), f.subarray(3)], (i, t) => {
      if (i === 0) t.closeWith(1008);
    });
    expect(out.equals(Buffer.concat([f, closeFrame(1008)]))).toBe(true);
  });

  it("sends no close frame of its own after the upstream's", async () => {
    const upstreamClose = frame(0x8, Buffer.from([0x03, 0xe8]));
    const { out, ended } = await run([upstreamClose], (_, t) => t.closeWith(1008));
    expect(out.equals(upstreamClose)).toBe(true);
    expect(ended).toBe(true);
  });

  it('when the upstream ends without a close frame, the client gets 1014', async () => {
    const t = new FrameBoundaries();
    const out: Buffer[] = [];
    t.on('data', (c: Buffer) => out.push(c));
    const ended = new Promise<void>((done) => t.on('end', () => done()));
    t.end(text('last'));
    await ended;
    expect(Buffer.concat(out).equals(Buffer.concat([text('last'), closeFrame(1014, 'upstream went away')]))).toBe(true);
  });

  it('abortWith gives the frame to write directly only at a boundary, once', async () => {
    const f = frame(0x2, Buffer.alloc(50));
    const t = new FrameBoundaries();
    t.resume();
    await new Promise<void>((done) => t.write(f.subarray(0, 5), () => done()));
    expect(t.abortWith(1014)).toBeNull();
    await new Promise<void>((done) => t.write(f.subarray(5), () => done()));
    expect(t.abortWith(1014)).toEqual(closeFrame(1014));
    expect(t.abortWith(1014)).toBeNull();
  });
});
