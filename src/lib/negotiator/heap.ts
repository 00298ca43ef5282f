/**
 * A binary min-heap that knows where each item sits, so an item can be
 * removed or re-placed after its key changed in O(log n), not found by a
 * scan. The offer pool keeps its eviction order in these (offerranking.ts).
 */
export class IndexedHeap<T> {
  private readonly items: T[] = [];
  private readonly index = new Map<T, number>();

  /** `before(a, b)` is true when `a` must come out before `b`. */
  constructor(private readonly before: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  has(item: T): boolean {
    return this.index.has(item);
  }

  push(item: T): void {
    if (this.index.has(item)) throw new Error('item is already in the heap');
    this.items.push(item);
    this.index.set(item, this.items.length - 1);
    this._up(this.items.length - 1);
  }

  /** Removes `item`; false if it was not there. */
  remove(item: T): boolean {
    const i = this.index.get(item);
    if (i === undefined) return false;
    const last = this.items.pop()!;
    this.index.delete(item);
    if (i < this.items.length) {
      this.items[i] = last;
      this.index.set(last, i);
      this.update(last);
    }
    return true;
  }

  /** Puts `item` back in order after its key changed. */
  update(item: T): void {
    const i = this.index.get(item);
    if (i === undefined) throw new Error('item is not in the heap');
    this._down(this._up(i));
  }

  private _less(i: number, j: number): boolean {
    return this.before(this.items[i], this.items[j]);
  }

  private _swap(i: number, j: number): void {
    const a = this.items[i];
    this.items[i] = this.items[j];
    this.items[j] = a;
    this.index.set(this.items[i], i);
    this.index.set(this.items[j], j);
  }

  private _up(i: number): number {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this._less(i, parent)) break;
      this._swap(i, parent);
      i = parent;
    }
    return i;
  }

  private _down(i: number): void {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let least = i;
      if (l < this.items.length && this._less(l, least)) least = l;
      if (r < this.items.length && this._less(r, least)) least = r;
      if (least === i) return;
      this._swap(i, least);
      i = least;
    }
  }
}
