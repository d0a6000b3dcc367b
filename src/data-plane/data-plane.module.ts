import { Module } from '@nestjs/common';
import { PolicyGuard } from './policy.guard';
import { ProxyService } from './proxy/proxy.service';
import { WebSocketProxy } from './websocket/websocket-proxy';

/**
 * ANY /api/*: the policy pipeline's guard, then the streaming proxy, served by DataPlaneDispatcher ahead
 * of Express (no Nest route). Depends on the core only.
 */
@Module({
  providers: [ProxyService, WebSocketProxy, PolicyGuard],
})
export class DataPlaneModule {}
