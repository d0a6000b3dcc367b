/** For the benchmark's own child scripts: report readiness, and never outlive the orchestrator. */

/** Tells the orchestrator the child listens on `port`. */
export function announceReady(port: number): void {
  process.send?.({ type: 'ready', port });
}

/** The IPC channel closes when the orchestrator exits, however it exits: leave with it. */
export function exitWithParent(onExit: () => void = () => process.exit(0)): void {
  process.once('disconnect', onExit);
}
