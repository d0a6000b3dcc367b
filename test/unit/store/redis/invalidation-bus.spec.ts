import { decodeInvalidation, encodeInvalidation } from '../../../../src/store/redis/invalidation-bus';

describe('invalidation messages', () => {
  it('round-trip a tenant change and "all"', () => {
    expect(decodeInvalidation(encodeInvalidation({ tenantId: 'acme' }))).toEqual({ tenantId: 'acme' });
    expect(decodeInvalidation(encodeInvalidation({ all: true }))).toEqual({ all: true });
  });

  it.each(['', 'acme', 'null', '42', '[]', '{}', '{"tenantId":""}', '{"tenantId":7}', '{"all":"yes"}'])(
    'refuse %j',
    (text) => {
      expect(decodeInvalidation(text)).toBeNull();
    },
  );
});
