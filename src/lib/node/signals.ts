/**
 * Long-running commands (the daemon, the file server) stop the same way: the
 * first SIGINT or SIGTERM runs their graceful stop, and the command returns
 * when that has finished.
 */
export function untilSignal(stop: () => Promise<void>): Promise<void> {
  return new Promise<void>((resolve) => {
    const onSignal = () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      stop().then(resolve, resolve);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
