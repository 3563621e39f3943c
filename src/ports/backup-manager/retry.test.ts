import { backoffDelay, linkSignals, retryWithBackoff, sleep } from './retry';

const policy = { retries: 3, minDelayMs: 100, maxDelayMs: 1_000 };

describe('backoffDelay', () => {
  it('grows exponentially from the minimum and stays under the maximum', () => {
    expect([0, 1, 2, 3, 4, 10, 5_000].map((n) => backoffDelay(n, policy, () => 1))).toEqual([100, 200, 400, 800, 1_000, 1_000, 1_000]);
  });

  it('jitters over the whole window down to the minimum', () => {
    expect(backoffDelay(3, policy, () => 0)).toBe(100);
    expect(backoffDelay(3, policy, () => 0.5)).toBe(450);
  });

  it('tolerates a maximum below the minimum', () => {
    expect(backoffDelay(2, { retries: 1, minDelayMs: 50, maxDelayMs: 10 }, () => 1)).toBe(50);
  });
});

describe('retryWithBackoff', () => {
  const fast = { retries: 3, minDelayMs: 0, maxDelayMs: 1 };

  it('returns the first success', async () => {
    let calls = 0;
    const result = await retryWithBackoff(
      async () => {
        calls++;
        if (calls < 3) throw new Error('flaky');
        return 'ok';
      },
      { ...fast, shouldRetry: () => true },
    );
    expect(result).toBe('ok');
    expect(calls).toBe(3);
  });

  it('gives up after the retries with the last error, reporting each retry', async () => {
    let calls = 0;
    const retries: number[] = [];
    await expect(
      retryWithBackoff(
        async () => {
          throw new Error(`fail ${++calls}`);
        },
        { ...fast, shouldRetry: () => true, onRetry: (i) => retries.push(i.retry) },
      ),
    ).rejects.toThrow('fail 4');
    expect(calls).toBe(4);
    expect(retries).toEqual([1, 2, 3]);
  });

  it('does not retry what shouldRetry refuses', async () => {
    let calls = 0;
    await expect(
      retryWithBackoff(
        async () => {
          calls++;
          throw new Error('permanent');
        },
        { ...fast, shouldRetry: () => false },
      ),
    ).rejects.toThrow('permanent');
    expect(calls).toBe(1);
  });

  it('stops waiting as soon as the signal aborts', async () => {
    const controller = new AbortController();
    const reason = new Error('stop');
    let calls = 0;
    const running = retryWithBackoff(
      async () => {
        calls++;
        throw new Error('down');
      },
      {
        retries: 5,
        minDelayMs: 60_000,
        maxDelayMs: 60_000,
        signal: controller.signal,
        shouldRetry: () => true,
        onRetry: () => setImmediate(() => controller.abort(reason)),
      },
    );
    await expect(running).rejects.toBe(reason);
    expect(calls).toBe(1);
  });

  it('does not take a wait that would outlast the remaining budget: the last error at once', async () => {
    const errors = [new Error('503 first'), new Error('503 second')];
    let calls = 0;
    const waits: number[] = [];
    const running = retryWithBackoff(
      async () => {
        throw errors[calls++] ?? new Error('more');
      },
      { retries: 5, minDelayMs: 100, maxDelayMs: 100, shouldRetry: () => true, remainingMs: () => 250 - calls * 100, onRetry: (i) => waits.push(i.delayMs) },
    );
    await expect(running).rejects.toBe(errors[1]);
    expect(calls).toBe(2);
    expect(waits).toEqual([100]);
  });

  it('does not start when already aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('early'));
    const fn = jest.fn(async () => 1);
    await expect(retryWithBackoff(fn, { ...fast, signal: controller.signal, shouldRetry: () => true })).rejects.toThrow('early');
    expect(fn).not.toHaveBeenCalled();
  });
});

describe('sleep and linkSignals', () => {
  it('sleep waits the whole delay without a signal, and no longer', async () => {
    jest.useFakeTimers();
    try {
      let done = false;
      const slept = sleep(1_000).then(() => {
        done = true;
      });
      await jest.advanceTimersByTimeAsync(999);
      expect(done).toBe(false);
      await jest.advanceTimersByTimeAsync(1);
      expect(done).toBe(true);
      await expect(slept).resolves.toBeUndefined();
    } finally {
      jest.useRealTimers();
    }
  });

  it('sleep ends early with the reason when its signal aborts', async () => {
    const controller = new AbortController();
    const slept = sleep(60_000, controller.signal);
    controller.abort(new Error('stop'));
    await expect(slept).rejects.toThrow('stop');
  });

  it('a linked signal follows any input and releases its listeners', () => {
    const a = new AbortController();
    const b = new AbortController();
    const linked = linkSignals(a.signal, undefined, b.signal);
    b.abort('b');
    expect(linked.signal.aborted).toBe(true);
    expect(linked.signal.reason).toBe('b');
    linked.dispose();

    const again = linkSignals(a.signal);
    again.dispose();
    a.abort('a');
    expect(again.signal.aborted).toBe(false);
  });

  it('a linked signal starts aborted when an input already is', () => {
    const a = new AbortController();
    a.abort('gone');
    const linked = linkSignals(undefined, a.signal);
    expect(linked.signal.reason).toBe('gone');
  });
});
