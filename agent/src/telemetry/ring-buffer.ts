/**
 * Fixed-capacity FIFO: pushing into a full buffer evicts the oldest item and counts it, so a device
 * that is offline for days keeps its most recent history and a bounded memory footprint.
 */
export class RingBuffer<T> {
  private readonly items: (T | undefined)[];
  private head = 0;
  private count = 0;
  private droppedTotal = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be a positive integer');
    this.items = new Array<T | undefined>(capacity);
  }

  get size(): number {
    return this.count;
  }

  /** Items evicted because the buffer was full, since construction. */
  get dropped(): number {
    return this.droppedTotal;
  }

  push(item: T): void {
    const tail = (this.head + this.count) % this.capacity;
    this.items[tail] = item;
    if (this.count === this.capacity) {
      this.head = (this.head + 1) % this.capacity;
      this.droppedTotal += 1;
    } else {
      this.count += 1;
    }
  }

  /** The oldest `n` items without removing them (so a failed send loses nothing). */
  peek(n: number): T[] {
    const out: T[] = [];
    for (let i = 0; i < Math.min(n, this.count); i++) out.push(this.items[(this.head + i) % this.capacity] as T);
    return out;
  }

  /** Removes the oldest `n` items. */
  drop(n: number): void {
    const k = Math.min(n, this.count);
    for (let i = 0; i < k; i++) this.items[(this.head + i) % this.capacity] = undefined;
    this.head = (this.head + k) % this.capacity;
    this.count -= k;
  }
}
