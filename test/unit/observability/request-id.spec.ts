import { requestIdFrom, traceIdFrom } from '../../../src/observability/request-id';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('requestIdFrom', () => {
  it.each([
    ['a short id', 'abc'],
    ['one character', 'a'],
    ['every allowed character', 'AZaz09._-'],
    ['a UUID', '3f2b8c1e-9a4d-4e5f-8a7b-1c2d3e4f5a6b'],
    ['128 characters', 'x'.repeat(128)],
  ])('keeps %s', (_label, id) => {
    expect(requestIdFrom(id)).toBe(id);
  });

  it.each([
    ['129 characters', 'x'.repeat(129)],
    ['an empty value', ''],
    ['a space', 'abc def'],
    ['a slash', 'abc/def'],
    ['a colon', 'abc:def'],
    ['a newline (log injection)', 'abc\ninjected'],
    ['non-ASCII', 'abcé'],
    ['a trailing newline', 'abc\n'],
  ])('replaces %s with a new UUID', (_label, id) => {
    const replaced = requestIdFrom(id);
    expect(replaced).not.toBe(id);
    expect(replaced).toMatch(UUID);
  });

  it('replaces a repeated header (an array) with a new UUID', () => {
    const replaced = requestIdFrom(['abc', 'def']);
    expect(replaced).toMatch(UUID);
  });

  it('makes a new UUID when there is no header, a different one each time', () => {
    const first = requestIdFrom(undefined);
    const second = requestIdFrom(undefined);
    expect(first).toMatch(UUID);
    expect(second).toMatch(UUID);
    expect(first).not.toBe(second);
  });
});

describe('traceIdFrom', () => {
  const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
  const SPAN = '00f067aa0ba902b7';

  it('returns the trace id of a valid W3C traceparent', () => {
    expect(traceIdFrom(`00-${TRACE}-${SPAN}-01`)).toBe(TRACE);
  });

  it('accepts any flags and an unknown (not ff) version', () => {
    expect(traceIdFrom(`00-${TRACE}-${SPAN}-00`)).toBe(TRACE);
    expect(traceIdFrom(`01-${TRACE}-${SPAN}-03`)).toBe(TRACE);
  });

  it('accepts fields a later version appends after the flags', () => {
    expect(traceIdFrom(`01-${TRACE}-${SPAN}-01-what-the-future-holds`)).toBe(TRACE);
  });

  it('ignores surrounding whitespace', () => {
    expect(traceIdFrom(`  00-${TRACE}-${SPAN}-01 `)).toBe(TRACE);
  });

  it.each([
    ['version ff', `ff-${TRACE}-${SPAN}-01`],
    ['an all-zero trace id', `00-${'0'.repeat(32)}-${SPAN}-01`],
    ['an all-zero span id', `00-${TRACE}-${'0'.repeat(16)}-01`],
    ['a short trace id', `00-${TRACE.slice(1)}-${SPAN}-01`],
    ['a long trace id', `00-${TRACE}0-${SPAN}-01`],
    ['a short span id', `00-${TRACE}-${SPAN.slice(1)}-01`],
    ['a long span id', `00-${TRACE}-${SPAN}0-01`],
    ['a one-digit version', `0-${TRACE}-${SPAN}-01`],
    ['one-digit flags', `00-${TRACE}-${SPAN}-1`],
    ['upper-case hex in the trace id', `00-${TRACE.toUpperCase()}-${SPAN}-01`],
    ['upper-case hex in the span id', `00-${TRACE}-${SPAN.toUpperCase()}-01`],
    ['a non-hex character', `00-${TRACE.slice(0, 31)}g-${SPAN}-01`],
    ['a missing field', `00-${TRACE}-${SPAN}`],
    ['version 00 with a fifth field', `00-${TRACE}-${SPAN}-01-extra`],
    ['a later version whose extra part lacks its separator', `01-${TRACE}-${SPAN}-01extra`],
    ['upper-case hex in the flags', `00-${TRACE}-${SPAN}-0A`],
    ['another separator', `00_${TRACE}_${SPAN}_01`],
    ['an empty value', ''],
  ])('is undefined for %s', (_label, header) => {
    expect(traceIdFrom(header)).toBeUndefined();
  });

  it('is undefined for a repeated header (an array), even of valid values', () => {
    expect(traceIdFrom([`00-${TRACE}-${SPAN}-01`, `00-${TRACE}-${SPAN}-01`])).toBeUndefined();
  });

  it('is undefined when there is no header', () => {
    expect(traceIdFrom(undefined)).toBeUndefined();
  });
});
