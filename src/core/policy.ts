/**
 * The key the ready heap orders by. Today it is the priority alone, so the heap is (priority, seq):
 * 0 before 1 before 2, FIFO among equals. Aging (issue 8) replaces this with an effective deadline,
 * `enqueuedAtMs + priority * step`, without changing the heap.
 */
export function readyKey(priority: number): number {
  return priority;
}
