import { Cluster, type Redis } from 'ioredis';
import type { Invalidation } from '../store.port';
import { reconnectDelay, type RedisClient, type StoreLog } from './redis.client';
import { errorMessage } from '../../errors/error-message';

/** Our own channel (SPEC §4): outside `tenant:*`, and pub/sub channels are cluster-wide, not slotted. */
export const INVALIDATION_CHANNEL = 'gw:invalidate';

/** A cluster subscriber gives up on a node after this many failed reconnects and tries the next one. */
const CLUSTER_NODE_ATTEMPTS = 3;

export function encodeInvalidation(msg: Invalidation): string {
  return JSON.stringify('all' in msg ? { all: true } : { tenantId: msg.tenantId });
}

/** The message, or null for anything else on the channel (never trusted to be well-formed). */
export function decodeInvalidation(text: string): Invalidation | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null) return null;
  const fields = parsed as Record<string, unknown>;
  if (fields.all === true) return { all: true };
  if (typeof fields.tenantId === 'string' && fields.tenantId !== '') return { tenantId: fields.tenantId };
  return null;
}

/**
 * Cache invalidations between replicas over Redis pub/sub. Publishing uses the store's client; the
 * subscription has a connection of its own (a subscribed connection can run no other command),
 * opened when the first listener registers. Every time the subscription is (re-)established the
 * listeners get `{ all: true }`: while it was down, messages may have been missed.
 *
 * Standalone: a duplicate of the client, reconnecting forever. Cluster: PUBLISH reaches every node,
 * so one connection to any node is enough; after a few failed reconnects it moves to the next node.
 */
export class InvalidationBus {
  private readonly listeners: ((msg: Invalidation) => void)[] = [];
  private sub: Redis | null = null;
  private closed = false;
  /** Starts anywhere, so the replicas' subscribers spread over the cluster's nodes. */
  private nodeIndex = Math.floor(Math.random() * 1024);
  private retryTimer: NodeJS.Timeout | undefined;
  private lastError: string | null = null;

  constructor(
    private readonly client: RedisClient,
    private readonly log: StoreLog,
  ) {}

  async publish(msg: Invalidation): Promise<void> {
    await this.client.publish(INVALIDATION_CHANNEL, encodeInvalidation(msg));
  }

  listen(listener: (msg: Invalidation) => void): void {
    this.listeners.push(listener);
    if (this.listeners.length === 1) this.connect();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.sub?.disconnect();
    this.sub = null;
  }

  private connect(): void {
    this.retryTimer = undefined;
    if (this.closed) return;
    const sub = this.newConnection();
    if (sub === null) {
      // A cluster that knows no node yet: try again shortly.
      this.retryTimer = setTimeout(() => this.connect(), reconnectDelay(10));
      return;
    }
    this.sub = sub;
    let subscribed = false;
    sub.on('error', (err: Error) => {
      if (err.message === this.lastError) return;
      this.lastError = err.message;
      this.log('invalidation_subscriber_error', { error: err.message });
    });
    sub.on('ready', () => {
      sub.subscribe(INVALIDATION_CHANNEL).then(
        () => {
          subscribed = true;
          this.lastError = null;
          this.log('invalidation_subscribed');
          // Whatever was published while we were not listening is lost: start again from the store.
          this.deliver({ all: true });
        },
        (err: unknown) => {
          this.log('invalidation_subscribe_failed', { error: errorMessage(err) });
          sub.disconnect(true);
        },
      );
    });
    sub.on('message', (channel: string, text: string) => {
      if (channel !== INVALIDATION_CHANNEL) return;
      const msg = decodeInvalidation(text);
      if (msg === null) this.log('invalidation_message_ignored');
      else this.deliver(msg);
    });
    sub.on('close', () => {
      if (!subscribed || this.closed) return;
      subscribed = false;
      this.log('invalidation_subscription_lost');
    });
    sub.on('end', () => {
      // Only a cluster node connection ends by itself (its retries are bounded): move to the next node.
      if (this.closed || this.sub !== sub) return;
      this.sub = null;
      this.retryTimer = setTimeout(() => this.connect(), reconnectDelay(10));
    });
  }

  private newConnection(): Redis | null {
    const overrides = { lazyConnect: false, autoResubscribe: false, connectionName: 'gw-invalidation' };
    if (!(this.client instanceof Cluster)) return this.client.duplicate(overrides);
    const nodes = this.client.nodes('all');
    if (nodes.length === 0) return null;
    const node = nodes[this.nodeIndex++ % nodes.length];
    return node.duplicate({
      ...overrides,
      enableOfflineQueue: false,
      retryStrategy: (attempt: number) => (attempt > CLUSTER_NODE_ATTEMPTS ? null : reconnectDelay(attempt)),
    });
  }

  private deliver(msg: Invalidation): void {
    for (const listener of this.listeners) {
      try {
        listener(msg);
      } catch (err) {
        this.log('invalidation_listener_failed', { error: errorMessage(err) });
      }
    }
  }
}
