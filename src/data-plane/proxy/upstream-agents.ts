import http from 'node:http';
import https from 'node:https';

/**
 * One keep-alive agent per upstream origin, shared by every tenant that points there.
 * Without keep-alive a proxied request costs several times the CPU (a TCP handshake each time).
 */
export class UpstreamAgents {
  private readonly agents = new Map<string, http.Agent>();

  for(origin: string, secure: boolean): http.Agent {
    let agent = this.agents.get(origin);
    if (agent === undefined) {
      const options: http.AgentOptions = { keepAlive: true, maxSockets: 1024, maxFreeSockets: 256, scheduling: 'lifo' };
      agent = secure ? new https.Agent(options) : new http.Agent(options);
      this.agents.set(origin, agent);
    }
    return agent;
  }

  destroyAll(): void {
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
  }
}
