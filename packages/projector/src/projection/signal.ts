/** A wake-up that can be awaited with a timeout: set by notifications, consumed by a loop. */
export const createSignal = () => {
  let pending = false;
  let wake: (() => void) | undefined;
  return {
    notify() {
      pending = true;
      wake?.();
    },
    wait(timeoutMs: number): Promise<void> {
      if (pending) {
        pending = false;
        return Promise.resolve();
      }
      return new Promise((resolve) => {
        const timer = setTimeout(done, timeoutMs);
        function done() {
          clearTimeout(timer);
          wake = undefined;
          pending = false;
          resolve();
        }
        wake = done;
      });
    },
  };
};
