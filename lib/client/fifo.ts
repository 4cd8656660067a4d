/**
 * A FIFO over a growable ring buffer: push and shift are O(1) with no array
 * reindexing (Array#shift is O(n) on long arrays). Capacity doubles when full.
 *
 *   items: [ . . c d e f . . ]      head -> c, size 4; push writes after f,
 *                ^head   ^tail      shift reads at head and clears the slot
 */
export class Fifo<T> {
  private items: Array<T | undefined>
  private head = 0
  private count = 0

  constructor (initialCapacity = 16) {
    let cap = 1
    while (cap < initialCapacity) cap <<= 1
    this.items = new Array<T | undefined>(cap)
  }

  get size (): number {
    return this.count
  }

  push (item: T): void {
    if (this.count === this.items.length) this.grow()
    this.items[(this.head + this.count) & (this.items.length - 1)] = item
    this.count++
  }

  /** The oldest item, or undefined. */
  peek (): T | undefined {
    return this.count === 0 ? undefined : this.items[this.head]
  }

  shift (): T | undefined {
    if (this.count === 0) return undefined
    const item = this.items[this.head]
    this.items[this.head] = undefined
    this.head = (this.head + 1) & (this.items.length - 1)
    this.count--
    return item
  }

  /** Removes and returns every item, oldest first. */
  drain (): T[] {
    const out: T[] = []
    for (let x = this.shift(); x !== undefined; x = this.shift()) out.push(x)
    return out
  }

  private grow (): void {
    const old = this.items
    const next = new Array<T | undefined>(old.length * 2)
    for (let i = 0; i < this.count; i++) next[i] = old[(this.head + i) & (old.length - 1)]
    this.items = next
    this.head = 0
  }
}
