/**
 * Preloaded into each gateway the benchmark starts (`node -r orphan-guard.js dist/main.js`). The gateway
 * gets an IPC channel it never uses; when the benchmark dies without stopping it, the channel closes and
 * the gateway is told to stop as on SIGTERM (its normal, graceful shutdown). The channel is unref'd so it
 * changes nothing else about the process.
 */
if (process.channel) {
  process.channel.unref();
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
}
