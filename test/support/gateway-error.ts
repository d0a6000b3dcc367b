import { GatewayError } from '../../src/errors/gateway-error';

/** Runs `action` (sync or async) and returns the GatewayError it throws; anything else fails the test. */
export async function gatewayErrorOf(action: () => unknown): Promise<GatewayError> {
  let result: unknown;
  try {
    result = await action();
  } catch (err) {
    if (err instanceof GatewayError) return err;
    throw err;
  }
  throw new Error(`expected a GatewayError, but the call returned ${JSON.stringify(result)}`);
}
