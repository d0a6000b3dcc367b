/** For the benchmark's own child scripts: report readiness, and never outlive the orchestrator. */

/** Tells the orchestrator the child is ready, listening on `port` (0 for a child that serves over IPC only). */
export function announceReady(port = 0): void {
  process.send?.({ type: 'ready', port });
}

/** The IPC channel closes when the orchestrator exits, however it exits: leave with it. */
export function exitWithParent(onExit: () => void = () => process.exit(0)): void {
  process.once('disconnect', onExit);
}
