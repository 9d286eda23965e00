// A sliding window over async jobs: at most `size` in flight, deterministic in the workflow sandbox.
export async function slidingWindow<T, R>(items: T[], size: number, job: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  const running = new Set<Promise<void>>();
  for (let i = 0; i < items.length; i++) {
    while (running.size >= size) await Promise.race(running);
    const p: Promise<void> = job(items[i]!, i).then((r) => {
      results[i] = r;
      running.delete(p);
    });
    running.add(p);
  }
  await Promise.all(running);
  return results;
}
